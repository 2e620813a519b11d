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
        /// Lowercase hex SHA-256 of the ciphertext (signed), nil for images packaged before it was recorded.
        public var ciphertextSHA256: String?

        enum CodingKeys: String, CodingKey {
            case name, role, sha256, chunks
            case plaintextSize = "plaintext_size", chunkSize = "chunk_size"
            case ciphertextOffset = "ciphertext_offset", ciphertextSize = "ciphertext_size"
            case ciphertextSHA256 = "ciphertext_sha256"
        }
    }

    /// The `[pipeline]` settings the runtime will use (defaults filled in for a text pipeline).
    public struct Pipeline: Codable, Sendable, Equatable {
        /// `tensor` or `sentence-embedding`.
        public var kind: String
        /// The tokenizer vocabulary asset (text pipelines).
        public var tokenizer: String?
        /// Longest token sequence, `[CLS]` and `[SEP]` included.
        public var maxSequenceLength: Int?
        /// `mean`, `cls` or `max`.
        public var pooling: String?
        /// Whether embeddings are scaled to unit length.
        public var normalize: Bool?
        /// Whether text is lower-cased and accents stripped.
        public var lowercase: Bool?
        /// Texts per request.
        public var maxTexts: Int?
        /// UTF-8 bytes per text.
        public var maxTextBytes: Int?

        enum CodingKeys: String, CodingKey {
            case kind, tokenizer, pooling, normalize, lowercase
            case maxSequenceLength = "max_sequence_length", maxTexts = "max_texts", maxTextBytes = "max_text_bytes"
        }

        /// `kind = "sentence-embedding", max_sequence_length = 256, …` on one line.
        var text: String {
            var parts = [kind]
            if let tokenizer { parts.append("tokenizer \(tokenizer)") }
            if let maxSequenceLength { parts.append("max_sequence_length \(maxSequenceLength)") }
            if let pooling { parts.append("pooling \(pooling)") }
            if let normalize { parts.append("normalize \(normalize)") }
            if let lowercase { parts.append("lowercase \(lowercase)") }
            if let maxTexts { parts.append("max_texts \(maxTexts)") }
            if let maxTextBytes { parts.append("max_text_bytes \(maxTextBytes)") }
            return parts.joined(separator: ", ")
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
    /// `[pipeline]`, with the runtime's defaults for absent text keys.
    public var pipeline: Pipeline
    /// The model's inputs and outputs as recorded at packaging; nil for images packaged before they were.
    public var model: ImageModelInterface?
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
    /// Whether and on which backends the image restarts from sealed state (nil only for values decoded from
    /// an older `inspect --json`).
    public var sealedRestart: SealedRestart?

    enum CodingKeys: String, CodingKey {
        case path, name, version, pipeline, model, assets, wrappings, manifest
        case formatVersion = "format_version", manifestDigest = "manifest_digest"
        case signerFingerprint = "signer_fingerprint", signatureAlgorithm = "signature_algorithm"
        case keyRelease = "key_release", fileSize = "file_size"
        case sealedRestart = "sealed_restart"
    }

    /// A few aligned lines for humans.
    public var text: String {
        var lines = [
            "image            \(name) \(version)",
            "manifest digest  \(manifestDigest)",
            "signer           \(signerFingerprint) (\(signatureAlgorithm))",
            "pipeline         \(pipeline.text)",
            "key release      \(keyRelease)",
            "file             \(path) (\(fileSize) bytes, format \(formatVersion))",
        ]
        if let model {
            for input in model.inputs { lines.append("model input      \(input.text)") }
            for output in model.outputs { lines.append("model output     \(output.text)") }
        } else {
            lines.append("model            inputs and outputs not recorded (packaged by an older enclava)")
        }
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
        lines += sealedRestart?.lines ?? []
        return lines.joined(separator: "\n")
    }
}

extension EnclaveImage {
    /// The image's public description for `enclava inspect`.
    public func inspect() -> ImageInspection {
        var inspection = ImageInspection(
            path: path, name: manifest.image.name, version: manifest.image.version, formatVersion: formatVersion,
            manifestDigest: Hex.encode(manifestDigest), signerFingerprint: signerFingerprint,
            signatureAlgorithm: signatureAlgorithm, pipeline: inspectedPipeline, model: modelInterface,
            keyRelease: manifest.keys.release.rawValue, fileSize: fileSize,
            assets: assets.map {
                ImageInspection.Asset(name: $0.name, role: $0.role.rawValue, plaintextSize: $0.plaintextSize,
                                      sha256: Hex.encode($0.plaintextSHA256), chunkSize: $0.chunkSize, chunks: $0.chunkCount,
                                      ciphertextOffset: $0.ciphertextOffset, ciphertextSize: $0.ciphertextSize,
                                      ciphertextSHA256: $0.ciphertextSHA256.map(Hex.encode))
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
        inspection.sealedRestart = ImageInspection.SealedRestart(keys: manifest.keys)
        return inspection
    }

    /// The pipeline as the runtime reads it: for a text pipeline every key, defaults filled in.
    private var inspectedPipeline: ImageInspection.Pipeline {
        let pipeline = manifest.pipeline
        guard pipeline.kind == .sentenceEmbedding else { return ImageInspection.Pipeline(kind: pipeline.kind.rawValue) }
        let defaults = Manifest.Pipeline.Defaults.self
        return ImageInspection.Pipeline(
            kind: pipeline.kind.rawValue, tokenizer: pipeline.tokenizer,
            maxSequenceLength: pipeline.maxSequenceLength ?? defaults.maxSequenceLength,
            pooling: (pipeline.pooling ?? defaults.pooling).rawValue, normalize: pipeline.normalize ?? defaults.normalize,
            lowercase: pipeline.lowercase ?? defaults.lowercase, maxTexts: pipeline.maxTexts ?? defaults.maxTexts,
            maxTextBytes: pipeline.maxTextBytes ?? defaults.maxTextBytes)
    }
}
