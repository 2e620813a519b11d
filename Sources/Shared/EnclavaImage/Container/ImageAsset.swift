/// One encrypted asset of an image, as listed in the signed header.
public struct ImageAsset: Sendable, Equatable {
    /// Normalized path relative to the manifest's folder, e.g. `model.onnx`.
    public let name: String
    /// What the asset is for.
    public let role: AssetRole
    /// Plaintext size in bytes.
    public let plaintextSize: UInt64
    /// SHA-256 of the plaintext (32 bytes).
    public let plaintextSHA256: [UInt8]
    /// Plaintext bytes per AES-GCM chunk.
    public let chunkSize: Int
    /// Offset of the first ciphertext byte, counted from the end of the header envelope.
    public let ciphertextOffset: UInt64
    /// Ciphertext bytes: plaintext plus a 16-byte tag per chunk.
    public let ciphertextSize: UInt64

    /// Creates an asset record.
    public init(name: String, role: AssetRole, plaintextSize: UInt64, plaintextSHA256: [UInt8], chunkSize: Int,
                ciphertextOffset: UInt64, ciphertextSize: UInt64) {
        self.name = name
        self.role = role
        self.plaintextSize = plaintextSize
        self.plaintextSHA256 = plaintextSHA256
        self.chunkSize = chunkSize
        self.ciphertextOffset = ciphertextOffset
        self.ciphertextSize = ciphertextSize
    }

    /// Number of AES-GCM chunks (at least one).
    public var chunkCount: UInt64 { ImageFormat.chunkCount(plaintextSize: plaintextSize, chunkSize: chunkSize) }

    /// The part that enters the manifest digest.
    public var digest: AssetDigest { AssetDigest(name: name, role: role, sha256: plaintextSHA256) }
}
