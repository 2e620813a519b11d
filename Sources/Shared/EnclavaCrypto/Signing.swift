internal import COpenSSL

/// DigestSign / DigestVerify over any EVP_PKEY, with optional RSA-PSS parameters.
enum Signing {
    static func verify(key: PKey, signature: [UInt8], message: UnsafeRawBufferPointer, digest: DigestAlgorithm,
                       pss saltLength: Int?) -> Bool {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, digest.evpMD, nil, key.pointer) == 1 else { return false }
        if let saltLength {
            guard let pctx, configurePSS(pctx, digest: digest, saltLength: saltLength) else { return false }
        }
        let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let dummy: UInt8 = 0
        return withUnsafePointer(to: dummy) { fallback in
            EVP_DigestVerify(ctx, signature, signature.count, base ?? fallback, message.count) == 1
        }
    }

    static func sign(key: PKey, message: UnsafeRawBufferPointer, digest: DigestAlgorithm, pss saltLength: Int?) throws -> [UInt8] {
        OpenSSLErrors.clear()
        guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, digest.evpMD, nil, key.pointer) == 1 else {
            throw CryptoError.openSSL(.invalidKey, "the key cannot sign with \(digest)")
        }
        if let saltLength {
            guard let pctx, configurePSS(pctx, digest: digest, saltLength: saltLength) else {
                throw CryptoError.openSSL(.invalidInput, "RSA-PSS with \(digest) and salt length \(saltLength) is not possible with this key")
            }
        }
        let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let dummy: UInt8 = 0
        return try withUnsafePointer(to: dummy) { fallback in
            var length = 0
            guard EVP_DigestSign(ctx, nil, &length, base ?? fallback, message.count) == 1 else {
                throw CryptoError.openSSL(.internalFailure, "signing failed")
            }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(ctx, &signature, &length, base ?? fallback, message.count) == 1 else {
                throw CryptoError.openSSL(.internalFailure, "signing failed")
            }
            return Array(signature.prefix(length))
        }
    }

    /// RSASSA-PSS with MGF1 over the same digest and the given salt length.
    static func configurePSS(_ pctx: OpaquePointer, digest: DigestAlgorithm, saltLength: Int) -> Bool {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
            && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, Int32(saltLength)) == 1
            && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest.evpMD) == 1
    }
}
