internal import COpenSSL

/// AES-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext. A 16-byte key selects
/// AES-128-GCM, a 32-byte key AES-256-GCM.
public enum AESGCM {
    /// Nonce size in bytes.
    public static let nonceByteCount = 12
    /// Tag size in bytes.
    public static let tagByteCount = 16

    /// Encrypts `plaintext`, returning `ciphertext ‖ tag`.
    /// - Throws: ``CryptoError`` `.invalidKey` for a key that is not 16 or 32 bytes, `.invalidInput` for a
    ///   nonce that is not 12 bytes.
    public static func seal(key: SecureBytes, nonce: [UInt8], plaintext: UnsafeRawBufferPointer, aad: [UInt8]) throws -> [UInt8] {
        let ctx = try Cipher(key: key, nonce: nonce, encrypting: true)
        defer { EVP_CIPHER_CTX_free(ctx.pointer) }
        try ctx.addAAD(aad)
        var output = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        try output.withUnsafeMutableBytes { out in
            try ctx.update(plaintext, into: out.baseAddress!)
            var finalLength: Int32 = 0
            guard EVP_EncryptFinal_ex(ctx.pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self) + plaintext.count, &finalLength) == 1,
                  EVP_CIPHER_CTX_ctrl(ctx.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), out.baseAddress! + plaintext.count) == 1 else {
                throw CryptoError.openSSL(.internalFailure, "AES-GCM encryption failed")
            }
        }
        return output
    }

    /// Encrypts a secret plaintext, returning `ciphertext ‖ tag`.
    /// - Throws: as ``seal(key:nonce:plaintext:aad:)-(_,_,UnsafeRawBufferPointer,_)``.
    public static func seal(key: SecureBytes, nonce: [UInt8], plaintext: SecureBytes, aad: [UInt8]) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal(key: key, nonce: nonce, plaintext: $0, aad: aad) }
    }

    /// Encrypts `plaintext`, returning `ciphertext ‖ tag`.
    public static func seal(key: SecureBytes, nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal(key: key, nonce: nonce, plaintext: $0, aad: aad) }
    }

    /// Decrypts and authenticates `ciphertext ‖ tag` into secure storage.
    /// - Throws: ``CryptoError`` `.authenticationFailed` when the tag does not verify (wrong key, nonce or
    ///   AAD, tampered or truncated input); `.invalidKey` / `.invalidInput` for malformed arguments.
    public static func open(key: SecureBytes, nonce: [UInt8], ciphertextAndTag: [UInt8], aad: [UInt8]) throws -> SecureBytes {
        guard ciphertextAndTag.count >= tagByteCount else {
            throw CryptoError(.authenticationFailed, "AES-GCM input of \(ciphertextAndTag.count) bytes is shorter than the 16-byte tag; it was truncated")
        }
        var plaintext = SecureBytes(count: ciphertextAndTag.count - tagByteCount)
        try ciphertextAndTag.withUnsafeBytes { input in
            try plaintext.withUnsafeMutableBytes { output in
                try open(key: key, nonce: nonce, ciphertextAndTag: input, aad: aad, into: output)
            }
        }
        return plaintext
    }

    /// Decrypts and authenticates `ciphertext ‖ tag` into `output`, which must be exactly the ciphertext's
    /// size. On any failure `output` is zeroed before the error is thrown.
    /// - Throws: as ``open(key:nonce:ciphertextAndTag:aad:)-(_,_,[UInt8],_)``.
    public static func open(key: SecureBytes, nonce: [UInt8], ciphertextAndTag: UnsafeRawBufferPointer, aad: [UInt8],
                            into output: UnsafeMutableRawBufferPointer) throws {
        guard ciphertextAndTag.count >= tagByteCount else {
            if let base = output.baseAddress { OPENSSL_cleanse(base, output.count) }
            throw CryptoError(.authenticationFailed, "AES-GCM input of \(ciphertextAndTag.count) bytes is shorter than the 16-byte tag; it was truncated")
        }
        let ciphertextCount = ciphertextAndTag.count - tagByteCount
        guard output.count == ciphertextCount else {
            throw CryptoError(.invalidInput, "AES-GCM output buffer has \(output.count) bytes but the ciphertext has \(ciphertextCount)")
        }
        do {
            let ctx = try Cipher(key: key, nonce: nonce, encrypting: false)
            defer { EVP_CIPHER_CTX_free(ctx.pointer) }
            try ctx.addAAD(aad)
            let ciphertext = UnsafeRawBufferPointer(rebasing: ciphertextAndTag[0..<ciphertextCount])
            if ciphertextCount > 0 { try ctx.update(ciphertext, into: output.baseAddress!) }
            var tag = [UInt8](ciphertextAndTag[ciphertextCount...])
            guard EVP_CIPHER_CTX_ctrl(ctx.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), &tag) == 1 else {
                throw CryptoError.openSSL(.internalFailure, "setting the AES-GCM tag failed")
            }
            var finalLength: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 16)
            guard EVP_DecryptFinal_ex(ctx.pointer, &scratch, &finalLength) == 1 else {
                OpenSSLErrors.clear()
                throw CryptoError(.authenticationFailed, "AES-GCM authentication failed: wrong key, nonce or AAD, or the data was tampered with")
            }
        } catch {
            if let base = output.baseAddress { OPENSSL_cleanse(base, output.count) }
            throw error
        }
    }

    /// An initialised EVP_CIPHER_CTX (the caller frees it).
    private struct Cipher {
        let pointer: OpaquePointer
        let encrypting: Bool

        init(key: SecureBytes, nonce: [UInt8], encrypting: Bool) throws {
            let cipher: OpaquePointer
            switch key.count {
            case 16: cipher = EVP_aes_128_gcm()
            case 32: cipher = EVP_aes_256_gcm()
            default: throw CryptoError(.invalidKey, "AES-GCM keys are 16 or 32 bytes, got \(key.count)")
            }
            guard nonce.count == AESGCM.nonceByteCount else {
                throw CryptoError(.invalidInput, "AES-GCM nonces are 12 bytes, got \(nonce.count)")
            }
            OpenSSLErrors.clear()
            guard let ctx = EVP_CIPHER_CTX_new() else { opensslFatal("allocate a cipher context") }
            let ok = key.withUnsafeBytes { raw in
                encrypting
                    ? EVP_EncryptInit_ex(ctx, cipher, nil, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce) == 1
                    : EVP_DecryptInit_ex(ctx, cipher, nil, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce) == 1
            }
            guard ok else {
                EVP_CIPHER_CTX_free(ctx)
                throw CryptoError.openSSL(.internalFailure, "AES-GCM initialisation failed")
            }
            pointer = ctx
            self.encrypting = encrypting
        }

        func addAAD(_ aad: [UInt8]) throws {
            guard !aad.isEmpty else { return }
            guard aad.count <= Int(Int32.max) else {
                throw CryptoError(.invalidInput, "AES-GCM AAD of \(aad.count) bytes is too long")
            }
            var outLength: Int32 = 0
            let ok = encrypting
                ? EVP_EncryptUpdate(pointer, nil, &outLength, aad, Int32(aad.count)) == 1
                : EVP_DecryptUpdate(pointer, nil, &outLength, aad, Int32(aad.count)) == 1
            guard ok else { throw CryptoError.openSSL(.invalidInput, "AES-GCM rejected the AAD") }
        }

        /// Processes `input` in chunks below OpenSSL's `int` length limit, writing the same count to `output`.
        func update(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) throws {
            var offset = 0
            while offset < input.count {
                let chunk = Swift.min(input.count - offset, 1 << 30)
                var outLength: Int32 = 0
                let source = (input.baseAddress! + offset).assumingMemoryBound(to: UInt8.self)
                let target = (output + offset).assumingMemoryBound(to: UInt8.self)
                let ok = encrypting
                    ? EVP_EncryptUpdate(pointer, target, &outLength, source, Int32(chunk)) == 1
                    : EVP_DecryptUpdate(pointer, target, &outLength, source, Int32(chunk)) == 1
                guard ok, Int(outLength) == chunk else { throw CryptoError.openSSL(.internalFailure, "AES-GCM update failed") }
                offset += chunk
            }
        }
    }
}
