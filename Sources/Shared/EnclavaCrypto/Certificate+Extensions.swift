internal import COpenSSL

extension Certificate {
    /// The `extnValue` contents (the DER of the extension's value, inside the OCTET STRING) of the first
    /// extension with the dotted `oid`, or nil when the certificate has none.
    public func extensionValue(oid: String) -> [UInt8]? {
        let count = X509_get_ext_count(x509.pointer)
        guard count > 0 else { return nil }
        for index in 0..<count {
            guard let ext = X509_get_ext(x509.pointer, index), let object = X509_EXTENSION_get_object(ext) else { continue }
            guard Self.dottedOID(object) == oid else { continue }
            guard let data = X509_EXTENSION_get_data(ext) else { return nil }
            let length = Int(ASN1_STRING_length(data))
            guard length > 0, let bytes = ASN1_STRING_get0_data(data) else { return [] }
            return Array(UnsafeBufferPointer(start: bytes, count: length))
        }
        return nil
    }

    /// Whether the extension with `oid` is marked critical (nil when absent).
    public func isExtensionCritical(oid: String) -> Bool? {
        let count = X509_get_ext_count(x509.pointer)
        guard count > 0 else { return nil }
        for index in 0..<count {
            guard let ext = X509_get_ext(x509.pointer, index), let object = X509_EXTENSION_get_object(ext),
                  Self.dottedOID(object) == oid else { continue }
            return X509_EXTENSION_get_critical(ext) == 1
        }
        return nil
    }

    /// The dotted OIDs of all extensions, in order.
    public var extensionOIDs: [String] {
        let count = X509_get_ext_count(x509.pointer)
        guard count > 0 else { return [] }
        return (0..<count).compactMap { index in
            guard let ext = X509_get_ext(x509.pointer, index), let object = X509_EXTENSION_get_object(ext) else { return nil }
            return Self.dottedOID(object)
        }
    }

    /// True when basicConstraints says `cA: TRUE`.
    public var isCA: Bool {
        X509_check_ca(x509.pointer) >= 1
    }

    /// The DER `tbsCertificate`, the bytes the issuer signed.
    public var tbsCertificateDER: [UInt8] {
        DER.encode { i2d_re_X509_tbs(x509.pointer, $0) } ?? []
    }

    /// The raw signature bits (for RSA the big-endian signature, for ECDSA the DER `ECDSA-Sig-Value`).
    public var signatureValue: [UInt8] {
        var signature: UnsafePointer<ASN1_BIT_STRING>?
        var algorithm: UnsafePointer<X509_ALGOR>?
        X509_get0_signature(&signature, &algorithm, x509.pointer)
        guard let signature else { return [] }
        let length = Int(ASN1_STRING_length(signature))
        guard length > 0, let bytes = ASN1_STRING_get0_data(signature) else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }

    /// The dotted OID of the signature algorithm (1.2.840.113549.1.1.10 for RSASSA-PSS,
    /// 1.2.840.10045.4.3.3 for ECDSA with SHA-384, …).
    public var signatureAlgorithmOID: String {
        var signature: UnsafePointer<ASN1_BIT_STRING>?
        var algorithm: UnsafePointer<X509_ALGOR>?
        X509_get0_signature(&signature, &algorithm, x509.pointer)
        guard let algorithm else { return "" }
        var object: OpaquePointer?
        X509_ALGOR_get0(&object, nil, nil, algorithm)
        guard let object else { return "" }
        return Self.dottedOID(object)
    }

    static func dottedOID(_ object: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
        guard length > 0, Int(length) < buffer.count else { return "" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
