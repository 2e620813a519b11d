import Foundation
internal import COpenSSL

extension CertificateRevocationList {
    /// Builds and signs a v2 CRL — for simulated vendor hierarchies (a simulated PCK CA's CRL) and tests.
    ///
    /// - Parameters:
    ///   - issuer: the CA certificate whose subject becomes the CRL issuer.
    ///   - signer: the CA's private key and digest (RSA-PSS or ECDSA).
    ///   - revokedSerialNumbers: big-endian serial numbers to list (leading zeros ignored).
    ///   - thisUpdate: the issue time (also used as every entry's revocation date).
    ///   - nextUpdate: when the next CRL is due.
    /// - Throws: ``CryptoError`` `.invalidKey` when `signer` does not match `issuer`, `.invalidInput` for
    ///   bad dates or serials, `.certificateInvalid` when OpenSSL refuses to sign.
    public static func build(
        issuer: Certificate, signer: CertificateBuilder.Signer, revokedSerialNumbers: [[UInt8]], thisUpdate: Date,
        nextUpdate: Date
    ) throws -> CertificateRevocationList {
        guard thisUpdate < nextUpdate else {
            throw CryptoError(.invalidInput, "thisUpdate (\(thisUpdate)) must be before nextUpdate (\(nextUpdate))")
        }
        let (key, digest): (PKey, DigestAlgorithm)
        switch signer {
        case .rsaPSS(let rsa, let alg, _): (key, digest) = (rsa.key, alg)
        case .ecdsa(let ec, let alg): (key, digest) = (ec.key, alg)
        }
        OpenSSLErrors.clear()
        guard X509_check_private_key(issuer.x509.pointer, key.pointer) == 1 else {
            OpenSSLErrors.clear()
            throw CryptoError(.invalidKey, "the signer's key does not match the CRL issuer \"\(issuer.subject)\"")
        }
        guard let crl = X509_CRL_new() else { opensslFatal("allocate an X509_CRL") }
        defer { X509_CRL_free(crl) }
        guard let issued = ASN1_TIME_set(nil, time_t(thisUpdate.timeIntervalSince1970)),
              let next = ASN1_TIME_set(nil, time_t(nextUpdate.timeIntervalSince1970)) else {
            throw CryptoError.openSSL(.invalidInput, "the CRL dates cannot be encoded")
        }
        defer {
            ASN1_STRING_free(issued)
            ASN1_STRING_free(next)
        }
        guard X509_CRL_set_version(crl, 1) == 1,
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.x509.pointer)) == 1,
              X509_CRL_set1_lastUpdate(crl, issued) == 1, X509_CRL_set1_nextUpdate(crl, next) == 1
        else { throw CryptoError.openSSL(.invalidInput, "setting the CRL issuer or dates failed") }
        for serial in revokedSerialNumbers {
            let significant = Array(serial.drop { $0 == 0 })
            guard significant.count <= 20 else {
                throw CryptoError(.invalidInput, "a revoked serial number is longer than 20 bytes")
            }
            guard let entry = X509_REVOKED_new() else { opensslFatal("allocate an X509_REVOKED") }
            let bn = BigNumber.make(significant)
            defer { BN_free(bn) }
            guard let integer = BN_to_ASN1_INTEGER(bn, nil) else { opensslFatal("encode a serial number") }
            defer { ASN1_INTEGER_free(integer) }
            guard X509_REVOKED_set_serialNumber(entry, integer) == 1, X509_REVOKED_set_revocationDate(entry, issued) == 1,
                  X509_CRL_add0_revoked(crl, entry) == 1
            else {
                X509_REVOKED_free(entry)
                throw CryptoError.openSSL(.invalidInput, "adding a revoked serial number failed")
            }
        }
        guard X509_CRL_sort(crl) == 1 else { throw CryptoError.openSSL(.invalidInput, "sorting the CRL failed") }
        guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, digest.evpMD, nil, key.pointer) == 1 else {
            throw CryptoError.openSSL(.invalidKey, "the signer's key cannot sign with \(digest)")
        }
        if case .rsaPSS(_, _, let saltLength) = signer {
            guard let pctx, Signing.configurePSS(pctx, digest: digest, saltLength: saltLength) else {
                throw CryptoError.openSSL(.invalidInput, "RSA-PSS with \(digest) and salt length \(saltLength) is not possible")
            }
        }
        guard X509_CRL_sign_ctx(crl, ctx) > 0, let der = DER.encode({ i2d_X509_CRL(crl, $0) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "signing the CRL failed")
        }
        return try CertificateRevocationList(derRepresentation: der)
    }
}
