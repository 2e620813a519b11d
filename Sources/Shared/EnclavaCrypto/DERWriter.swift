internal import COpenSSL

/// The few DER encodings the certificate builder writes itself.
enum DERWriter {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var value = count
        while value > 0 {
            bytes.insert(UInt8(value & 0xFF), at: 0)
            value >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func sequence(_ content: [UInt8]) -> [UInt8] { tlv(0x30, content) }
    static func octetString(_ content: [UInt8]) -> [UInt8] { tlv(0x04, content) }
    static func boolean(_ value: Bool) -> [UInt8] { [0x01, 0x01, value ? 0xFF : 0x00] }

    /// A context-specific primitive `[n] IMPLICIT` value.
    static func tagged(_ number: UInt8, _ content: [UInt8]) -> [UInt8] { tlv(0x80 | number, content) }

    static func integer(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return tlv(0x02, bytes)
    }

    /// The contents of a DER OCTET STRING with a definite length, or nil.
    static func octetStringContents(_ der: [UInt8]) -> [UInt8]? {
        guard der.count >= 2, der[0] == 0x04 else { return nil }
        var offset = 2
        var count = Int(der[1])
        if der[1] & 0x80 != 0 {
            let lengthBytes = Int(der[1] & 0x7F)
            guard lengthBytes > 0, lengthBytes <= 2, der.count >= 2 + lengthBytes else { return nil }
            count = der[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | Int($1) }
            offset = 2 + lengthBytes
        }
        guard der.count == offset + count else { return nil }
        return Array(der[offset...])
    }
}

/// Adding extensions to an `X509` under construction.
enum CertificateExtension {
    static func add(to x509: OpaquePointer, oid: String, critical: Bool, value: [UInt8]) throws {
        guard let object = OBJ_txt2obj(oid, 1) else {
            OpenSSLErrors.clear()
            throw CryptoError(.invalidInput, "\"\(oid)\" is not a dotted object identifier")
        }
        defer { ASN1_OBJECT_free(object) }
        guard let octets = ASN1_OCTET_STRING_new() else { opensslFatal("allocate an OCTET STRING") }
        defer { ASN1_OCTET_STRING_free(octets) }
        guard ASN1_OCTET_STRING_set(octets, value, Int32(value.count)) == 1,
              let ext = X509_EXTENSION_create_by_OBJ(nil, object, critical ? 1 : 0, octets) else {
            throw CryptoError.openSSL(.invalidInput, "the extension \(oid) could not be built")
        }
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(x509, ext, -1) == 1 else {
            throw CryptoError.openSSL(.invalidInput, "the extension \(oid) could not be added")
        }
    }

    /// A 160-bit key identifier: the leftmost bits of SHA-256 over the subjectPublicKey (RFC 7093 §2 method 1).
    static func keyIdentifier(spki: [UInt8]) -> [UInt8] {
        Array(SHA2.sha256(subjectPublicKeyBits(spki) ?? spki).prefix(20))
    }

    /// The BIT STRING contents (without the unused-bits byte) of a SubjectPublicKeyInfo.
    private static func subjectPublicKeyBits(_ spki: [UInt8]) -> [UInt8]? {
        guard let key = DER.decode(spki, { d2i_X509_PUBKEY(nil, $0, $1) }) else { return nil }
        defer { X509_PUBKEY_free(key) }
        var bits: UnsafePointer<UInt8>?
        var length: Int32 = 0
        guard X509_PUBKEY_get0_param(nil, &bits, &length, nil, key) == 1, let bits, length > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: bits, count: Int(length)))
    }
}
