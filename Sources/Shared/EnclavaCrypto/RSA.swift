internal import COpenSSL

/// An RSA public key (for RSASSA-PSS verification, as AMD's and Enclava's simulated roots use).
public struct RSAPublicKey: Sendable, Equatable {
    let key: PKey
    /// The DER SubjectPublicKeyInfo.
    public let spkiDER: [UInt8]

    init(key: PKey) throws {
        guard key.baseID == EVP_PKEY_RSA || key.baseID == EVP_PKEY_RSA_PSS else {
            throw CryptoError(.invalidKey, "the key is not an RSA key")
        }
        self.key = key
        spkiDER = key.spkiDER
    }

    /// A key from its DER SubjectPublicKeyInfo (rsaEncryption or id-RSASSA-PSS).
    /// - Throws: ``CryptoError`` `.invalidKey`.
    public init(spkiDER: [UInt8]) throws {
        try self.init(key: PKey.fromSPKI(spkiDER))
    }

    /// A key from "PUBLIC KEY" PEM text.
    /// - Throws: ``CryptoError`` `.invalidKey`.
    public init(pem: String) throws {
        try self.init(key: PKey.fromPublicPEM(pem))
    }

    /// The modulus size in bits.
    public var bitCount: Int { key.bits }

    /// "PUBLIC KEY" PEM text.
    public var pemRepresentation: String { key.publicPEM }

    /// True when `signature` is a valid RSASSA-PSS signature of `message` with `digest`, MGF1 over the
    /// same digest, and exactly `saltLength` bytes of salt.
    public func isValidPSSSignature(_ signature: [UInt8], for message: [UInt8], digest: DigestAlgorithm, saltLength: Int) -> Bool {
        message.withUnsafeBytes {
            Signing.verify(key: key, signature: signature, message: $0, digest: digest, pss: saltLength)
        }
    }

    /// Keys are equal when their SubjectPublicKeyInfo encodings are.
    public static func == (lhs: RSAPublicKey, rhs: RSAPublicKey) -> Bool {
        lhs.spkiDER == rhs.spkiDER
    }
}

/// An RSA private key, held by OpenSSL.
public struct RSAPrivateKey: Sendable {
    let key: PKey
    /// The matching public key.
    public let publicKey: RSAPublicKey

    private init(key: PKey) throws {
        guard key.baseID == EVP_PKEY_RSA || key.baseID == EVP_PKEY_RSA_PSS else {
            throw CryptoError(.invalidKey, "the private key is not an RSA key")
        }
        self.key = key
        publicKey = try RSAPublicKey(spkiDER: key.spkiDER)
    }

    /// A new key with a `bits`-bit modulus (2048…8192, public exponent 65537). 4096-bit keys take seconds.
    /// - Throws: ``CryptoError`` `.invalidInput` for other sizes.
    public static func generate(bits: Int) throws -> RSAPrivateKey {
        guard (2048...8192).contains(bits), bits % 8 == 0 else {
            throw CryptoError(.invalidInput, "RSA key size must be a multiple of 8 in 2048…8192 bits, got \(bits)")
        }
        let key = try PKey.generate(type: EVP_PKEY_RSA, what: "a \(bits)-bit RSA key") {
            EVP_PKEY_CTX_set_rsa_keygen_bits($0, Int32(bits)) == 1
        }
        return try RSAPrivateKey(key: key)
    }

    /// A key from unencrypted PEM: PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
    /// - Throws: ``CryptoError`` `.invalidKey`.
    public init(pem: String) throws {
        try self.init(key: PKey.fromPrivatePEM(pem))
    }

    /// The key as PKCS#8 PEM text (UTF-8), in secure storage.
    /// - Throws: ``CryptoError`` if OpenSSL cannot encode it.
    public func pemRepresentation() throws -> SecureBytes {
        try key.privatePEM()
    }

    /// The modulus size in bits.
    public var bitCount: Int { key.bits }

    /// An RSASSA-PSS signature of `message` (MGF1 over `digest`, `saltLength` bytes of salt).
    /// - Throws: ``CryptoError`` `.invalidInput` when the salt does not fit the key.
    public func pssSignature(for message: [UInt8], digest: DigestAlgorithm, saltLength: Int) throws -> [UInt8] {
        try message.withUnsafeBytes { try Signing.sign(key: key, message: $0, digest: digest, pss: saltLength) }
    }
}
