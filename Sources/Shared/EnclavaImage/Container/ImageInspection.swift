import EnclavaCrypto
/// What `enclava inspect [--json]` shows about an image: identity, signer, assets and key
/// wrappings. Holds no secret (key ids and sealed blobs' metadata only, never a key).
public struct ImageInspection: Codable, Sendable, Equatable {
    /// One asset row.
    public struct Asset: Codable, Sendable, Equatable {
        /// Normalized path relative to the manifest's folder.
        public var name: String
        /// `"model"` or `"tokenizer"`.
        public var role: String
        /// Plaintext bytes.
        public var plaintextSize: UInt64
        /// Lowercase hex SHA-256 of the plaintext.
        public var sha256: String
        /// Plaintext bytes per chunk.
        public var chunkSize: Int
        /// Number of AES-GCM chunks.
        public var chunks: UInt64
        /// Offset of the ciphertext after the header envelope.
        public var ciphertextOffset: UInt64
        /// Ciphertext bytes, tags included.
        public var ciphertextSize: UInt64

        enum CodingKeys: String, CodingKey {
            case name, role, sha256, chunks
            case plaintextSize = "plaintext_size", chunkSize = "chunk_size"
            case ciphertextOffset = "ciphertext_offset", ciphertextSize = "ciphertext_size"
        }
    }

    /// One key wrapping row.
    public struct Wrapping: Codable, Sendable, Equatable {
        /// `"sealed"` or `"owner"`.
        public var kind: String
        /// Sealing scheme version (sealed only).
        public var version: UInt32?
        /// Key policy, e.g. `"measurement"` (sealed only).
        public var keyPolicy: String?
        /// Sealing-key purpose (sealed only).
        public var purpose: String?
        /// The measurement sealed for, hex (sealed only).
        public var measurement: String?
        /// The owner key id, hex (owner only).
        public var keyID: String?

        enum CodingKeys: String, CodingKey {
            case kind, version, purpose, measurement
            case keyPolicy = "key_policy", keyID = "key_id"
        }
    }

    /// The image file.
    public var path: String
    /// `[image] name`.
    public var name: String
    /// `[image] version`.
    public var version: String
    /// `ImageHeader.format_version`.
    public var formatVersion: UInt32
    /// Lowercase hex SHA-384.
    public var manifestDigest: String
    /// Lowercase hex SHA-256 of the signer's SubjectPublicKeyInfo.
    public var signerFingerprint: String
    /// `"ecdsa-p384-sha384"`.
    public var signatureAlgorithm: String
    /// `[pipeline] kind`.
    public var pipeline: String
    /// The manifest's `[keys] release`.
    public var keyRelease: String
    /// The image's size in bytes.
    public var fileSize: UInt64
    /// The encrypted assets.
    public var assets: [Asset]
    /// The key wrappings.
    public var wrappings: [Wrapping]
    /// The embedded manifest (TOML).
    public var manifest: String

    enum CodingKeys: String, CodingKey {
        case path, name, version, pipeline, assets, wrappings, manifest
        case formatVersion = "format_version", manifestDigest = "manifest_digest"
        case signerFingerprint = "signer_fingerprint", signatureAlgorithm = "signature_algorithm"
        case keyRelease = "key_release", fileSize = "file_size"
    }

    /// A few aligned lines for humans.
    public var text: String {
        var lines = [
            "image            \(name) \(version)",
            "manifest digest  \(manifestDigest)",
            "signer           \(signerFingerprint) (\(signatureAlgorithm))",
            "pipeline         \(pipeline)",
            "key release      \(keyRelease)",
            "file             \(path) (\(fileSize) bytes, format \(formatVersion))",
        ]
        for asset in assets {
            lines.append("asset            \(asset.name) [\(asset.role)] \(asset.plaintextSize) bytes, \(asset.chunks) chunk(s), sha256 \(asset.sha256)")
        }
        for wrapping in wrappings {
            if wrapping.kind == "sealed" {
                lines.append("key wrapping     sealed v\(wrapping.version ?? 0), policy \(wrapping.keyPolicy ?? "?"), measurement \(wrapping.measurement.map { $0.isEmpty ? "(none)" : $0 } ?? "(none)")")
            } else {
                lines.append("key wrapping     \(wrapping.kind), key id \(wrapping.keyID ?? "?")")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension EnclaveImage {
    /// The image's public description for `enclava inspect`.
    public func inspect() -> ImageInspection {
        ImageInspection(
            path: path, name: manifest.image.name, version: manifest.image.version, formatVersion: formatVersion,
            manifestDigest: Hex.encode(manifestDigest), signerFingerprint: signerFingerprint,
            signatureAlgorithm: signatureAlgorithm, pipeline: manifest.pipeline.kind.rawValue,
            keyRelease: manifest.keys.release.rawValue, fileSize: fileSize,
            assets: assets.map {
                ImageInspection.Asset(name: $0.name, role: $0.role.rawValue, plaintextSize: $0.plaintextSize,
                                      sha256: Hex.encode($0.plaintextSHA256), chunkSize: $0.chunkSize, chunks: $0.chunkCount,
                                      ciphertextOffset: $0.ciphertextOffset, ciphertextSize: $0.ciphertextSize)
            },
            wrappings: keyWrappings.map { wrapping in
                switch wrapping {
                case .sealed(let sealed):
                    return ImageInspection.Wrapping(kind: "sealed", version: sealed.version, keyPolicy: sealed.keyPolicy,
                                                    purpose: sealed.purpose, measurement: Hex.encode(sealed.measurement), keyID: nil)
                case .owner(let keyID):
                    return ImageInspection.Wrapping(kind: "owner", version: nil, keyPolicy: nil, purpose: nil, measurement: nil,
                                                    keyID: Hex.encode(keyID))
                }
            },
            manifest: manifestText)
    }
}
