internal import COpenSSL

/// An ECDSA private key on P-256 or P-384, held by OpenSSL.
public struct ECDSAPrivateKey: Sendable {
    let key: PKey
    /// The curve.
    public let curve: ECCurve
    /// The matching public key.
    public let publicKey: ECDSAPublicKey

    private init(key: PKey) throws {
        guard key.baseID == EVP_PKEY_EC else {
            throw CryptoError(.invalidKey, "the private key is not an elliptic-curve key")
        }
        // The public half, re-parsed from its SPKI so that it owns no private material.
        let publicKey = try ECDSAPublicKey(spkiDER: key.spkiDER)
        self.key = key
        self.curve = publicKey.curve
        self.publicKey = publicKey
    }

    /// A new random key.
    /// - Throws: ``CryptoError`` `.internalFailure` if OpenSSL cannot generate it.
    public static func generate(curve: ECCurve) throws -> ECDSAPrivateKey {
        let key = try PKey.generate(type: EVP_PKEY_EC, what: "an \(curve) key") {
            EVP_PKEY_CTX_set_ec_paramgen_curve_nid($0, curve.nid) == 1
        }
        return try ECDSAPrivateKey(key: key)
    }

    /// A key from PEM: PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), unencrypted.
    /// - Throws: ``CryptoError`` `.invalidKey` for other text, other key types or other curves.
    public init(pem: String) throws {
        try self.init(key: PKey.fromPrivatePEM(pem))
    }

    /// The key as PKCS#8 PEM text (UTF-8), in secure storage.
    /// - Throws: ``CryptoError`` if OpenSSL cannot encode it.
    public func pemRepresentation() throws -> SecureBytes {
        try key.privatePEM()
    }

    /// Signs `message` hashed with `digest` (randomised ECDSA).
    /// - Throws: ``CryptoError`` if OpenSSL fails.
    public func signature(for message: [UInt8], digest: DigestAlgorithm) throws -> ECDSASignature {
        try message.withUnsafeBytes { try signature(for: $0, digest: digest) }
    }

    /// Signs the bytes of `message` hashed with `digest`.
    /// - Throws: ``CryptoError`` if OpenSSL fails.
    public func signature(for message: UnsafeRawBufferPointer, digest: DigestAlgorithm) throws -> ECDSASignature {
        let der = try Signing.sign(key: key, message: message, digest: digest, pss: nil)
        let parsed = try ECDSASignature(derRepresentation: der)
        return try ECDSASignature(r: parsed.r, s: parsed.s, curve: curve)
    }
}
