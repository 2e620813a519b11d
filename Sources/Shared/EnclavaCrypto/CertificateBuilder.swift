import Foundation
internal import COpenSSL

/// Builds X.509 v3 certificates: self-signed roots and issued certificates, signed with RSASSA-PSS or
/// ECDSA. Enclava uses it for the simulated AMD-shaped roots (`enclava sim init`) and for test chains.
public struct CertificateBuilder: Sendable {
    /// Who signs the certificate.
    public enum Signer: Sendable {
        /// RSASSA-PSS with MGF1 over the same digest (AMD's ARK and ASK use SHA-384 with salt length 48).
        case rsaPSS(RSAPrivateKey, DigestAlgorithm, saltLength: Int)
        /// ECDSA with the given digest.
        case ecdsa(ECDSAPrivateKey, DigestAlgorithm)
    }

    /// Subject attributes in order, by short name or dotted OID, e.g. `[("CN", "SEV-VCEK (simulated)"), ("O", "Enclava simulation")]`.
    public var subject: [(String, String)]
    /// The serial number, big-endian (1…20 bytes; zero is allowed, as on AMD VCEKs).
    public var serialNumber: [UInt8]
    /// Start of validity.
    public var notBefore: Date
    /// End of validity.
    public var notAfter: Date
    /// Adds a critical basicConstraints `cA: TRUE` and keyUsage keyCertSign + cRLSign, and a subject key identifier.
    public var isCA: Bool
    /// basicConstraints pathLenConstraint for a CA (nil: unlimited).
    public var pathLengthConstraint: Int?
    /// Additional extensions, each with its dotted OID, criticality and DER value (the `extnValue` contents).
    public var extensions: [(oid: String, critical: Bool, derValue: [UInt8])]

    /// A builder. The serial number defaults to 16 random bytes.
    public init(subject: [(String, String)], serialNumber: [UInt8]? = nil, notBefore: Date, notAfter: Date,
                isCA: Bool = false, pathLengthConstraint: Int? = nil,
                extensions: [(oid: String, critical: Bool, derValue: [UInt8])] = []) {
        self.subject = subject
        var random = SecureRandom.bytes(count: 16)
        random[0] &= 0x7F
        random[0] |= 0x01
        self.serialNumber = serialNumber ?? random
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.isCA = isCA
        self.pathLengthConstraint = pathLengthConstraint
        self.extensions = extensions
    }

    /// Builds and signs the certificate.
    /// - Parameters:
    ///   - subjectPublicKeySPKI: the DER SubjectPublicKeyInfo of the certified key.
    ///   - issuer: the issuing CA certificate, or nil for a self-signed certificate.
    ///   - signer: the issuer's private key (for a self-signed certificate, the subject's own key).
    /// - Throws: ``CryptoError`` `.invalidInput` for bad names, serials, dates or extensions, `.invalidKey`
    ///   when the signer's key does not match the issuer (or the subject, when self-signed),
    ///   `.certificateInvalid` when OpenSSL refuses to sign.
    public func build(subjectPublicKeySPKI: [UInt8], issuer: Certificate?, signer: Signer) throws -> Certificate {
        try validate()
        let subjectKey = try PKey.fromSPKI(subjectPublicKeySPKI)
        let signerKey: PKey
        let digest: DigestAlgorithm
        switch signer {
        case .rsaPSS(let key, let alg, _): (signerKey, digest) = (key.key, alg)
        case .ecdsa(let key, let alg): (signerKey, digest) = (key.key, alg)
        }
        if let issuer {
            guard X509_check_private_key(issuer.x509.pointer, signerKey.pointer) == 1 else {
                OpenSSLErrors.clear()
                throw CryptoError(.invalidKey, "the signer's key does not match the issuer certificate \"\(issuer.subject)\"")
            }
        } else if signerKey.spkiDER != subjectKey.spkiDER {
            throw CryptoError(.invalidKey, "a self-signed certificate must be signed by the subject's own key")
        }

        OpenSSLErrors.clear()
        guard let x509 = X509_new() else { opensslFatal("allocate an X509") }
        var owned: OpaquePointer? = x509
        defer { if let owned { X509_free(owned) } }
        guard X509_set_version(x509, 2) == 1 else { opensslFatal("set the certificate version") }
        try setSerial(x509)
        try setNames(x509, issuer: issuer)
        guard ASN1_TIME_set(X509_getm_notBefore(x509), time_t(notBefore.timeIntervalSince1970)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(x509), time_t(notAfter.timeIntervalSince1970)) != nil,
              X509_set_pubkey(x509, subjectKey.pointer) == 1 else {
            throw CryptoError.openSSL(.invalidInput, "setting the validity or the public key failed")
        }
        for ext in try standardExtensions(subjectKey: subjectKey, issuer: issuer) + extensions {
            try CertificateExtension.add(to: x509, oid: ext.oid, critical: ext.critical, value: ext.derValue)
        }
        try sign(x509, key: signerKey, digest: digest, signer: signer)
        owned = nil
        return try Certificate(taking: x509)
    }

    private func validate() throws {
        guard !subject.isEmpty else { throw CryptoError(.invalidInput, "the certificate subject is empty") }
        guard !serialNumber.isEmpty, serialNumber.count <= 20 else {
            throw CryptoError(.invalidInput, "the serial number must be 1…20 bytes, got \(serialNumber.count)")
        }
        guard notBefore < notAfter else {
            throw CryptoError(.invalidInput, "notBefore (\(notBefore)) must be before notAfter (\(notAfter))")
        }
        let oids = extensions.map(\.oid)
        guard Set(oids).count == oids.count else { throw CryptoError(.invalidInput, "an extension OID appears twice") }
        if isCA, oids.contains(where: { ["2.5.29.19", "2.5.29.15", "2.5.29.14"].contains($0) }) {
            throw CryptoError(.invalidInput, "with isCA, basicConstraints, keyUsage and subjectKeyIdentifier are added by the builder")
        }
    }

    private func setSerial(_ x509: OpaquePointer) throws {
        let bn = BigNumber.make(serialNumber)
        defer { BN_free(bn) }
        guard let integer = BN_to_ASN1_INTEGER(bn, nil) else { opensslFatal("encode the serial number") }
        defer { ASN1_INTEGER_free(integer) }
        guard X509_set_serialNumber(x509, integer) == 1 else { opensslFatal("set the serial number") }
    }

    private func setNames(_ x509: OpaquePointer, issuer: Certificate?) throws {
        guard let name = X509_NAME_new() else { opensslFatal("allocate an X509_NAME") }
        defer { X509_NAME_free(name) }
        for (attribute, value) in subject {
            let bytes = Array(value.utf8)
            guard X509_NAME_add_entry_by_txt(name, attribute, enclava_ossl_mbstring_utf8(), bytes, Int32(bytes.count), -1, 0) == 1 else {
                throw CryptoError.openSSL(.invalidInput, "the subject attribute \"\(attribute)\" = \"\(value)\" was refused")
            }
        }
        let issuerName = issuer.map { X509_get_subject_name($0.x509.pointer) } ?? name
        guard X509_set_subject_name(x509, name) == 1, X509_set_issuer_name(x509, issuerName) == 1 else {
            opensslFatal("set the certificate names")
        }
    }

    private func standardExtensions(subjectKey: PKey, issuer: Certificate?) throws -> [(oid: String, critical: Bool, derValue: [UInt8])] {
        var result: [(oid: String, critical: Bool, derValue: [UInt8])] = []
        let keyID = CertificateExtension.keyIdentifier(spki: subjectKey.spkiDER)
        if isCA {
            var constraints = DERWriter.boolean(true)
            if let pathLengthConstraint { constraints += DERWriter.integer(UInt64(Swift.max(0, pathLengthConstraint))) }
            result.append((oid: "2.5.29.19", critical: true, derValue: DERWriter.sequence(constraints)))
            // keyUsage: keyCertSign (bit 5) and cRLSign (bit 6).
            result.append((oid: "2.5.29.15", critical: true, derValue: [0x03, 0x02, 0x01, 0x06]))
            result.append((oid: "2.5.29.14", critical: false, derValue: DERWriter.octetString(keyID)))
        }
        // authorityKeyIdentifier = the issuer's subjectKeyIdentifier (our own for a self-signed CA).
        let authorityKeyID: [UInt8]? = if let issuer {
            issuer.extensionValue(oid: "2.5.29.14").flatMap(DERWriter.octetStringContents)
        } else {
            isCA ? keyID : nil
        }
        if let authorityKeyID {
            result.append((oid: "2.5.29.35", critical: false, derValue: DERWriter.sequence(DERWriter.tagged(0, authorityKeyID))))
        }
        return result
    }

    private func sign(_ x509: OpaquePointer, key: PKey, digest: DigestAlgorithm, signer: Signer) throws {
        guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, digest.evpMD, nil, key.pointer) == 1 else {
            throw CryptoError.openSSL(.invalidKey, "the signer's key cannot sign with \(digest)")
        }
        if case .rsaPSS(_, _, let saltLength) = signer {
            guard let pctx, Signing.configurePSS(pctx, digest: digest, saltLength: saltLength) else {
                throw CryptoError.openSSL(.invalidInput, "RSA-PSS with \(digest) and salt length \(saltLength) is not possible with this key")
            }
        }
        guard X509_sign_ctx(x509, ctx) > 0 else {
            throw CryptoError.openSSL(.certificateInvalid, "signing the certificate failed")
        }
    }
}
