import EnclavaCrypto

/// How ``ImagePackager`` should make the data-encryption key (DEK) recoverable.
public enum KeyWrappingRequest: Sendable {
    /// Seal the DEK to a (simulated) platform sealing key bound to an enclave measurement
    /// (`enclava package --seal-for sim`). The key must be derived with ``KeyWrap/sealingPurpose``.
    case sealedForSim(sealingKey: SecureBytes, measurement: [UInt8])
    /// Keep the DEK with the model owner: write it to `keyOutputPath` (mode 0600, see
    /// ``OwnerKeyFile``) and store only its key id in the image.
    case owner(keyOutputPath: String)
}

/// What ``ImagePackager/package(manifestPath:signer:outputPath:wrapping:progress:)`` produced.
public struct ImageSummary: Sendable {
    /// `[image] name`.
    public let name: String
    /// `[image] version`.
    public let version: String
    /// The manifest digest (48 bytes).
    public let manifestDigest: [UInt8]
    /// The encrypted assets.
    public let assets: [ImageAsset]
    /// The key wrappings stored in the image.
    public let keyWrappings: [KeyWrapping]
    /// Lowercase hex SHA-256 of the signer's public key.
    public let signerFingerprint: String
    /// Where the image was written.
    public let outputPath: String
    /// The image's size in bytes.
    public let imageSize: UInt64
    /// Where the owner key was written, for ``KeyWrappingRequest/owner(keyOutputPath:)``.
    public let ownerKeyPath: String?

    /// The manifest digest in lowercase hex.
    public var manifestDigestHex: String { Hex.encode(manifestDigest) }
    /// Total plaintext bytes of all assets.
    public var plaintextSize: UInt64 { assets.reduce(0) { $0 + $1.plaintextSize } }
}
