import EnclavaCrypto

/// The chunked AES-256-GCM of one asset (`ImageHeader.cipher = "aes-256-gcm-chunked-v1"`).
///
/// * key: `HKDF-SHA384(ikm: DEK, salt: manifest digest, info: "enclava/v1 asset key" ‖ SHA-256(name), 32)`,
///   one key per asset, so chunk nonces never repeat under a key even though every asset counts
///   its chunks from 0;
/// * nonce: `0x00000000 ‖ u64 BE chunk index`;
/// * AAD: `manifest digest ‖ asset name (UTF-8) ‖ u64 BE chunk index ‖ u8 last-chunk flag`.
///
/// A chunk therefore cannot be reordered (index), dropped or truncated at a chunk boundary (the
/// last-chunk flag and the size table in the signed header), or moved to another asset or image
/// (name, digest and key).
struct AssetCipher {
    private let key: SecureBytes
    private let aadPrefix: [UInt8]

    static let keyLabel: [UInt8] = Array("enclava/v1 asset key".utf8)

    init(dek: SecureBytes, manifestDigest: [UInt8], assetName: String) throws {
        guard dek.count == 32 else {
            throw ImageError(.wrongKey, "the data-encryption key must be 32 bytes, got \(dek.count)")
        }
        key = try HKDF.deriveKey(.sha384, ikm: dek, salt: manifestDigest,
                                 info: Self.keyLabel + SHA2.sha256(Array(assetName.utf8)), length: 32)
        aadPrefix = manifestDigest + Array(assetName.utf8)
    }

    static func nonce(chunk: UInt64) -> [UInt8] {
        [0, 0, 0, 0] + bigEndian(chunk)
    }

    func aad(chunk: UInt64, isLast: Bool) -> [UInt8] {
        aadPrefix + bigEndian(chunk) + [isLast ? 1 : 0]
    }

    /// Encrypts one chunk; returns `ciphertext ‖ tag`.
    func seal(chunk: UInt64, isLast: Bool, plaintext: UnsafeRawBufferPointer) throws -> [UInt8] {
        try AESGCM.seal(key: key, nonce: Self.nonce(chunk: chunk), plaintext: plaintext, aad: aad(chunk: chunk, isLast: isLast))
    }

    /// Decrypts one chunk into `output` (exactly the plaintext size); zeroes `output` on failure.
    func open(chunk: UInt64, isLast: Bool, ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try AESGCM.open(key: key, nonce: Self.nonce(chunk: chunk), ciphertextAndTag: ciphertext,
                        aad: aad(chunk: chunk, isLast: isLast), into: output)
    }
}

/// `value` as 8 big-endian bytes.
func bigEndian(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
}

/// `value` as 4 big-endian bytes.
func bigEndian(_ value: UInt32) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
}
