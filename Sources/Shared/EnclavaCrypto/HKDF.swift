internal import COpenSSL

/// HKDF (RFC 5869) over SHA-2, computed by OpenSSL.
public enum HKDF {
    /// The largest `info` that OpenSSL 3.0's HKDF accepts.
    public static let maxInfoByteCount = 1024

    /// HKDF-Extract: `PRK = HMAC-Hash(salt, IKM)`, a `alg.byteCount`-byte pseudorandom key.
    /// An empty `salt` means HashLen zero bytes, as RFC 5869 says.
    public static func extract(_ alg: DigestAlgorithm, salt: [UInt8], ikm: SecureBytes) -> SecureBytes {
        do {
            return try salt.withUnsafeBytes {
                try derive(alg, mode: EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY, key: ikm, salt: $0, info: [], length: alg.byteCount)
            }
        } catch {
            opensslFatal("compute HKDF-Extract (\(error))")
        }
    }

    /// HKDF-Extract with a secret salt (for example a shared secret used as salt, as in HPKE's key schedule).
    public static func extract(_ alg: DigestAlgorithm, secretSalt: SecureBytes, ikm: SecureBytes) -> SecureBytes {
        do {
            return try secretSalt.withUnsafeBytes {
                try derive(alg, mode: EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY, key: ikm, salt: $0, info: [], length: alg.byteCount)
            }
        } catch {
            opensslFatal("compute HKDF-Extract (\(error))")
        }
    }

    /// HKDF-Expand: `length` bytes of output keying material from `prk` and `info`.
    /// - Throws: ``CryptoError`` `.invalidInput` when `length` exceeds 255·HashLen, `prk` is shorter than
    ///   HashLen or `info` is longer than ``maxInfoByteCount``.
    public static func expand(_ alg: DigestAlgorithm, prk: SecureBytes, info: [UInt8], length: Int) throws -> SecureBytes {
        guard prk.count >= alg.byteCount else {
            throw CryptoError(.invalidInput, "HKDF-Expand needs a PRK of at least \(alg.byteCount) bytes for \(alg), got \(prk.count)")
        }
        return try derive(alg, mode: EVP_PKEY_HKDEF_MODE_EXPAND_ONLY, key: prk, salt: UnsafeRawBufferPointer(start: nil, count: 0),
                          info: info, length: length)
    }

    /// HKDF-Extract then HKDF-Expand.
    /// - Throws: as ``expand(_:prk:info:length:)``.
    public static func deriveKey(_ alg: DigestAlgorithm, ikm: SecureBytes, salt: [UInt8], info: [UInt8], length: Int) throws -> SecureBytes {
        try expand(alg, prk: extract(alg, salt: salt, ikm: ikm), info: info, length: length)
    }

    private static func derive(_ alg: DigestAlgorithm, mode: Int32, key: SecureBytes, salt: UnsafeRawBufferPointer, info: [UInt8],
                               length: Int) throws -> SecureBytes {
        guard length > 0, length <= 255 * alg.byteCount else {
            throw CryptoError(.invalidInput, "HKDF output length must be 1…\(255 * alg.byteCount) bytes for \(alg), got \(length)")
        }
        guard info.count <= maxInfoByteCount else {
            throw CryptoError(.invalidInput, "HKDF info is limited to \(maxInfoByteCount) bytes, got \(info.count)")
        }
        OpenSSLErrors.clear()
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { opensslFatal("allocate an HKDF context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var ok = EVP_PKEY_derive_init(ctx) == 1
            && EVP_PKEY_CTX_set_hkdf_mode(ctx, mode) == 1
            && EVP_PKEY_CTX_set_hkdf_md(ctx, alg.evpMD) == 1
        ok = ok && key.withUnsafeBytes { raw in
            // OpenSSL wants a non-null pointer even for an empty key.
            let dummy: UInt8 = 0
            return withUnsafePointer(to: dummy) { fallback in
                let pointer = raw.count > 0 ? raw.baseAddress!.assumingMemoryBound(to: UInt8.self) : fallback
                return EVP_PKEY_CTX_set1_hkdf_key(ctx, pointer, Int32(raw.count)) == 1
            }
        }
        if ok && !salt.isEmpty {
            ok = EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(salt.count)) == 1
        }
        if ok && !info.isEmpty {
            ok = EVP_PKEY_CTX_add1_hkdf_info(ctx, info, Int32(info.count)) == 1
        }
        guard ok else { throw CryptoError.openSSL(.internalFailure, "setting up HKDF failed") }
        var output = SecureBytes(count: length)
        var outLength = length
        let derived = output.withUnsafeMutableBytes {
            EVP_PKEY_derive(ctx, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength) == 1
        }
        guard derived, outLength == length else { throw CryptoError.openSSL(.internalFailure, "HKDF derivation failed") }
        return output
    }
}
