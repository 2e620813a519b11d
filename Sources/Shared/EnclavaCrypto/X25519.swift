internal import COpenSSL

/// An X25519 private key (RFC 7748), held as its 32 raw bytes in secure storage.
public struct X25519PrivateKey: Sendable {
    /// Size of private keys, public keys and shared secrets in bytes.
    public static let byteCount = 32

    /// The raw 32-byte scalar (unclamped, as RFC 7748 stores it).
    public let rawRepresentation: SecureBytes

    /// A fresh random key.
    public init() {
        rawRepresentation = SecureBytes.random(count: Self.byteCount)
    }

    /// A key from its 32 raw bytes.
    /// - Throws: ``CryptoError`` `.invalidKey` when `rawRepresentation` is not 32 bytes.
    public init(rawRepresentation: SecureBytes) throws {
        guard rawRepresentation.count == Self.byteCount else {
            throw CryptoError(.invalidKey, "X25519 private keys are 32 bytes, got \(rawRepresentation.count)")
        }
        self.rawRepresentation = rawRepresentation
    }

    /// The 32-byte public key.
    public var publicKey: [UInt8] {
        do {
            let key = try makePKey()
            defer { EVP_PKEY_free(key) }
            var output = [UInt8](repeating: 0, count: Self.byteCount)
            var length = Self.byteCount
            guard EVP_PKEY_get_raw_public_key(key, &output, &length) == 1, length == Self.byteCount else {
                opensslFatal("compute an X25519 public key")
            }
            return output
        } catch {
            opensslFatal("load an X25519 private key (\(error))")
        }
    }

    /// The X25519 shared secret with `peerPublicKey`.
    /// - Throws: ``CryptoError`` `.invalidKey` when the peer key is not 32 bytes or is a low-order point
    ///   (the shared secret would be all zeros).
    public func sharedSecret(with peerPublicKey: [UInt8]) throws -> SecureBytes {
        guard peerPublicKey.count == Self.byteCount else {
            throw CryptoError(.invalidKey, "X25519 public keys are 32 bytes, got \(peerPublicKey.count)")
        }
        let key = try makePKey()
        defer { EVP_PKEY_free(key) }
        guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peerPublicKey, peerPublicKey.count) else {
            throw CryptoError.openSSL(.invalidKey, "the X25519 peer public key was rejected")
        }
        defer { EVP_PKEY_free(peer) }
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { opensslFatal("allocate an X25519 context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var secret = SecureBytes(count: Self.byteCount)
        var length = Self.byteCount
        let ok = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1
            && secret.withUnsafeMutableBytes { EVP_PKEY_derive(ctx, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1 }
        // OpenSSL itself refuses an all-zero result (a low-order peer point).
        guard ok, length == Self.byteCount else {
            throw CryptoError.openSSL(.invalidKey, "X25519 key agreement failed; the peer public key is invalid or of low order")
        }
        guard secret != SecureBytes(count: Self.byteCount) else {
            throw CryptoError(.invalidKey, "X25519 produced an all-zero shared secret; the peer public key is of low order")
        }
        return secret
    }

    private func makePKey() throws -> OpaquePointer {
        OpenSSLErrors.clear()
        let key = rawRepresentation.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count)
        }
        guard let key else { throw CryptoError.openSSL(.invalidKey, "OpenSSL rejected the X25519 private key") }
        return key
    }
}
