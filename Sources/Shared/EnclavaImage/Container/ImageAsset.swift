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
    /// SHA-256 of the ciphertext (32 bytes), signed in the header so that `enclava inspect --verify` finds a
    /// damaged payload without the key; nil in images packaged before it was recorded.
    public let ciphertextSHA256: [UInt8]?

    /// Creates an asset record.
    public init(name: String, role: AssetRole, plaintextSize: UInt64, plaintextSHA256: [UInt8], chunkSize: Int,
                ciphertextOffset: UInt64, ciphertextSize: UInt64, ciphertextSHA256: [UInt8]? = nil) {
        self.ciphertextSHA256 = ciphertextSHA256
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

    /// The same record with its ciphertext hash.
    public func with(ciphertextSHA256: [UInt8]) -> ImageAsset {
        ImageAsset(name: name, role: role, plaintextSize: plaintextSize, plaintextSHA256: plaintextSHA256, chunkSize: chunkSize,
                   ciphertextOffset: ciphertextOffset, ciphertextSize: ciphertextSize, ciphertextSHA256: ciphertextSHA256)
    }

    /// The part that enters the manifest digest.
    public var digest: AssetDigest { AssetDigest(name: name, role: role, sha256: plaintextSHA256) }
}
