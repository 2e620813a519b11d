/// The fixed numbers of the `.eimg` container (DESIGN.md §4, `Protos/image.proto`).
///
/// ```
/// bytes 0..7    magic "ENCLAVA1"
/// bytes 8..11   envelope length N, u32 big-endian, 1…maxEnvelopeBytes
/// bytes 12..    SignedImageHeader { header: serialized ImageHeader, signature: DER ECDSA }
/// then          the encrypted assets back to back, in header order; ImageAsset.ciphertext_offset
///               counts from the first byte after the envelope, and the file ends exactly after
///               the last asset.
/// ```
public enum ImageFormat {
    /// The 8-byte magic at the start of every image.
    public static let magic: [UInt8] = Array("ENCLAVA1".utf8)
    /// Magic plus the u32 envelope length.
    public static let prefixByteCount = 12
    /// Largest envelope (header plus signature) accepted, checked before allocating.
    public static let maxEnvelopeBytes = 16 << 20
    /// `ImageHeader.format_version` written and accepted.
    public static let formatVersion: UInt32 = 1
    /// Plaintext bytes per AES-GCM chunk.
    public static let chunkSize = 1 << 20
    /// AES-GCM tag bytes after every chunk.
    public static let tagByteCount = 16
    /// `ImageHeader.signature_algorithm`.
    public static let signatureAlgorithm = "ecdsa-p384-sha384"
    /// `ImageHeader.cipher`.
    public static let cipher = "aes-256-gcm-chunked-v1"
    /// The signature covers this prefix followed by the exact serialized header bytes.
    public static let signatureContext: [UInt8] = Array("enclava-image-header-v1".utf8) + [0]
    /// Largest asset accepted (64 GiB), so size arithmetic can never overflow.
    public static let maxAssetBytes: UInt64 = 64 << 30

    /// Chunks of an asset of `plaintextSize` bytes (an empty asset has one empty chunk).
    public static func chunkCount(plaintextSize: UInt64, chunkSize: Int = chunkSize) -> UInt64 {
        plaintextSize == 0 ? 1 : (plaintextSize + UInt64(chunkSize) - 1) / UInt64(chunkSize)
    }

    /// Ciphertext bytes of an asset of `plaintextSize` bytes: every chunk carries a tag.
    public static func ciphertextSize(plaintextSize: UInt64, chunkSize: Int = chunkSize) -> UInt64 {
        plaintextSize + UInt64(tagByteCount) * chunkCount(plaintextSize: plaintextSize, chunkSize: chunkSize)
    }
}
