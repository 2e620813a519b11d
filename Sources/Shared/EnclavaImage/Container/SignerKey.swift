import EnclavaCrypto

/// The image signer's ECDSA P-384 key, kept as an unencrypted PKCS#8 PEM file with mode 0600
/// (`enclava keygen --out signer.pem`).
public enum SignerKey {
    /// Largest key file read.
    static let maxFileBytes: UInt64 = 64 << 10

    /// A new random ECDSA P-384 signing key.
    ///
    /// - Throws: ``ImageError`` `.invalidSignerKey` if OpenSSL cannot generate one.
    public static func generate() throws -> ECDSAPrivateKey {
        do {
            return try ECDSAPrivateKey.generate(curve: .p384)
        } catch {
            throw ImageError(.invalidSignerKey, "cannot generate an ECDSA P-384 key: \(error)")
        }
    }

    /// Writes `key` as PKCS#8 PEM to `path`, mode 0600, through a temporary file.
    ///
    /// - Parameter overwrite: Replace an existing file (default: refuse, so a signing key is
    ///   never destroyed by accident).
    /// - Throws: ``ImageError`` `.outputUnwritable` (including "already exists").
    public static func write(_ key: ECDSAPrivateKey, to path: String, overwrite: Bool = false) throws {
        let pem = try key.pemRepresentation()
        let file = try AtomicOutputFile(destination: path, mode: 0o600)
        try pem.withUnsafeBytes { try file.write($0) }
        try file.commit(overwrite: overwrite)
    }

    /// Generates a key and writes it to `path` (see ``write(_:to:overwrite:)``).
    public static func generate(writingTo path: String, overwrite: Bool = false) throws -> ECDSAPrivateKey {
        let key = try generate()
        try write(key, to: path, overwrite: overwrite)
        return key
    }

    /// Loads a signing key.
    ///
    /// - Throws: ``ImageError`` `.fileUnreadable` for a missing or unreadable file,
    ///   `.invalidSignerKey` when it is not an ECDSA P-384 private key in PEM.
    public static func load(path: String) throws -> ECDSAPrivateKey {
        let key: ECDSAPrivateKey
        do {
            key = try ECDSAPrivateKey(pem: try readPEM(path: path))
        } catch let error as ImageError {
            throw error
        } catch {
            throw ImageError(.invalidSignerKey,
                             "not an ECDSA P-384 private key in PEM; create one with `enclava keygen --out signer.pem`", path: path)
        }
        guard key.curve == .p384 else {
            throw ImageError(.invalidSignerKey, "the key is on \(key.curve), but images are signed with P-384; create one with `enclava keygen`",
                             path: path)
        }
        return key
    }

    /// Loads the public half of a signer: a `PUBLIC KEY` PEM or a signer private key file.
    ///
    /// - Throws: as ``load(path:)``.
    public static func loadPublicKey(path: String) throws -> ECDSAPublicKey {
        let text = try readPEM(path: path)
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            guard let key = try? ECDSAPublicKey(pem: text), key.curve == .p384 else {
                throw ImageError(.invalidSignerKey, "not an ECDSA P-384 public key in PEM", path: path)
            }
            return key
        }
        return try load(path: path).publicKey
    }

    /// Lowercase hex SHA-256 of the key's SubjectPublicKeyInfo DER.
    public static func fingerprint(of publicKey: ECDSAPublicKey) -> String {
        Hex.encode(SHA2.sha256(publicKey.spkiDER))
    }

    /// The key file's text. It briefly exists as a `String` because that is what the PEM
    /// parser takes; the bytes read stay in `SecureBytes`.
    private static func readPEM(path: String) throws -> String {
        let file = try InputFile(path: path)
        guard file.size > 0, file.size <= maxFileBytes else {
            throw ImageError(.invalidSignerKey, "is \(file.size) bytes, not a PEM key; create one with `enclava keygen --out signer.pem`",
                             path: path)
        }
        var bytes = SecureBytes(count: Int(file.size))
        _ = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}
