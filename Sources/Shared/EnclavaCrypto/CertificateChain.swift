import Foundation
internal import COpenSSL

/// X.509 path validation at an explicit time, by OpenSSL's verifier.
public enum CertificateChain {
    /// Verifies `leaf` ← `intermediates` ← one of `trustAnchors` at `time`: every signature (RSA
    /// PKCS#1 v1.5, RSASSA-PSS and ECDSA), every validity period, and the CA flags of the issuers.
    /// Trust anchors must be self-signed roots; their own signatures are not re-checked.
    ///
    /// - Parameters:
    ///   - leaf: the end-entity certificate (for SEV-SNP the VCEK or VLEK).
    ///   - intermediates: untrusted certificates that may be used to build the path (the ASK or ASVK).
    ///   - trustAnchors: the roots to trust (the ARK).
    ///   - time: the time to check validity at (usually now; a fixed time for recorded evidence).
    /// - Throws: ``CryptoError`` `.chainInvalid` naming the failing certificate's subject and OpenSSL's reason.
    public static func verify(leaf: Certificate, intermediates: [Certificate], trustAnchors: [Certificate], at time: Date) throws {
        try verify(leaf: leaf, intermediates: intermediates, trustAnchors: trustAnchors, crls: [], at: time)
    }

    /// Verifies the chain as ``verify(leaf:intermediates:trustAnchors:at:)`` does and, when `crls` is not
    /// empty, checks **every** certificate of the path (the trust anchor included) against a CRL from its
    /// issuer: each needed CRL must be present, signed by that issuer and current at `time`, and must not
    /// list the certificate.
    ///
    /// - Parameters:
    ///   - crls: the revocation lists to use (for Intel SGX/TDX: the PCK CRL and the Root CA CRL). Empty
    ///     means no revocation checking.
    /// - Throws: ``CryptoError`` `.chainInvalid`, naming the certificate and OpenSSL's reason ("certificate
    ///   revoked", "unable to get certificate CRL", "CRL has expired", …).
    public static func verify(
        leaf: Certificate, intermediates: [Certificate], trustAnchors: [Certificate], crls: [CertificateRevocationList],
        at time: Date
    ) throws {
        guard !trustAnchors.isEmpty else {
            throw CryptoError(.chainInvalid, "no trust anchor was given for \"\(leaf.subject)\"; pass the root certificate to trust")
        }
        OpenSSLErrors.clear()
        guard let store = X509_STORE_new() else { opensslFatal("allocate an X509_STORE") }
        defer { X509_STORE_free(store) }
        for anchor in trustAnchors {
            guard X509_STORE_add_cert(store, anchor.x509.pointer) == 1 else {
                throw CryptoError.openSSL(.chainInvalid, "the trust anchor \"\(anchor.subject)\" could not be added")
            }
        }
        guard let untrusted = enclava_ossl_sk_x509_new_null() else { opensslFatal("allocate a certificate stack") }
        defer { enclava_ossl_sk_x509_pop_free(untrusted) }
        for certificate in intermediates {
            X509_up_ref(certificate.x509.pointer)
            guard enclava_ossl_sk_x509_push(untrusted, certificate.x509.pointer) > 0 else {
                X509_free(certificate.x509.pointer)
                opensslFatal("push onto a certificate stack")
            }
        }
        guard let ctx = X509_STORE_CTX_new() else { opensslFatal("allocate an X509_STORE_CTX") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.x509.pointer, untrusted) == 1, let param = X509_STORE_CTX_get0_param(ctx) else {
            throw CryptoError.openSSL(.internalFailure, "setting up certificate verification failed")
        }
        X509_VERIFY_PARAM_set_time(param, time_t(time.timeIntervalSince1970.rounded(.down)))
        if !crls.isEmpty {
            for list in crls {
                guard X509_STORE_add_crl(store, list.crl.pointer) == 1 else {
                    throw CryptoError.openSSL(.chainInvalid, "the CRL issued by \"\(list.issuer)\" could not be added")
                }
            }
            X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL))
        }

        let result = X509_verify_cert(ctx)
        if result == 1 {
            OpenSSLErrors.clear()
            return
        }
        let code = X509_STORE_CTX_get_error(ctx)
        let depth = X509_STORE_CTX_get_error_depth(ctx)
        let reason = String(cString: X509_verify_cert_error_string(Int(code)))
        let failing = X509_STORE_CTX_get_current_cert(ctx).map { Certificate.nameText(X509_get_subject_name($0)) } ?? leaf.subject
        OpenSSLErrors.clear()
        throw CryptoError(.chainInvalid,
                          "certificate \"\(failing)\" (chain position \(depth), 0 = leaf) did not verify at \(Self.format(time)): \(reason) (OpenSSL X509_V_ERR \(code)); check the intermediates, the trust anchor and the verification time")
    }

    private static func format(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: time)
    }
}
