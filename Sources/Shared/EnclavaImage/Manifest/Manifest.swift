/// A parsed and validated image manifest (DESIGN.md §4).
///
/// ```toml
/// [image]
/// name = "minilm-embeddings"
/// version = "1.0.0"
///
/// [model]
/// file = "model.onnx"
/// format = "onnx"
///
/// [pipeline]
/// kind = "sentence-embedding"   # or "tensor"
/// tokenizer = "vocab.txt"
/// max_sequence_length = 256
/// pooling = "mean"
/// normalize = true
/// lowercase = true              # uncased checkpoints (the default)
/// max_texts = 8                 # texts per request
/// max_text_bytes = 16384        # UTF-8 bytes per text
///
/// [runtime]
/// threads = 2                   # worker threads, and threads per model run
/// max_batch = 8
/// max_queue = 64
/// max_frame_bytes = 4194304
///
/// [keys]
/// release = "owner"             # or "broker", or "sealed"
/// seal_to = "measurement"       # after a release, reseal to: "measurement" or "signer" (SGX)
/// ```
///
/// Unknown sections and keys are errors, so that a typo never silently falls back to a default.
/// Create one with ``parse(_:sourceName:)`` or ``load(path:)``.
public struct Manifest: Sendable, Equatable {
    /// `[image]`: the image's identity.
    public struct Image: Sendable, Equatable {
        /// `[a-z0-9._-]`, 1…64 characters.
        public var name: String
        /// Free-form version, 1…64 characters of `[A-Za-z0-9.+_-]`.
        public var version: String
    }

    /// Model file formats.
    public enum ModelFormat: String, Sendable, Equatable, CaseIterable {
        /// ONNX protobuf.
        case onnx
    }

    /// `[model]`: the model file.
    public struct Model: Sendable, Equatable {
        /// Normalized path relative to the manifest's folder (no `.` or `..` components).
        public var file: String
        /// The file's format (`"onnx"`, the default).
        public var format: ModelFormat
    }

    /// What the runtime does around the model.
    public enum PipelineKind: String, Sendable, Equatable, CaseIterable {
        /// Tensors in, tensors out.
        case tensor
        /// Text in, one embedding vector out (tokenizer, model, pooling, normalisation).
        case sentenceEmbedding = "sentence-embedding"
    }

    /// How token embeddings are pooled into one vector.
    public enum Pooling: String, Sendable, Equatable, CaseIterable {
        /// Mean over the attended tokens.
        case mean
        /// The first (`[CLS]`) token.
        case cls
        /// Element-wise maximum over the attended tokens.
        case max
    }

    /// `[pipeline]`: defaults to `kind = "tensor"` when the section is absent.
    public struct Pipeline: Sendable, Equatable {
        /// The pipeline kind.
        public var kind: PipelineKind
        /// Tokenizer vocabulary, normalized relative path (required for `sentence-embedding`).
        public var tokenizer: String?
        /// 1…8192 tokens.
        public var maxSequenceLength: Int?
        /// Pooling mode.
        public var pooling: Pooling?
        /// Whether the embedding is L2-normalised.
        public var normalize: Bool?
        /// Whether the tokenizer lower-cases and strips accents (uncased checkpoints).
        public var lowercase: Bool?
        /// Texts per request, 1…1024.
        public var maxTexts: Int?
        /// UTF-8 bytes per text, 1…1 MiB.
        public var maxTextBytes: Int?

        /// Creates a pipeline description; absent keys are nil.
        public init(kind: PipelineKind, tokenizer: String? = nil, maxSequenceLength: Int? = nil, pooling: Pooling? = nil,
                    normalize: Bool? = nil, lowercase: Bool? = nil, maxTexts: Int? = nil, maxTextBytes: Int? = nil) {
            self.kind = kind
            self.tokenizer = tokenizer
            self.maxSequenceLength = maxSequenceLength
            self.pooling = pooling
            self.normalize = normalize
            self.lowercase = lowercase
            self.maxTexts = maxTexts
            self.maxTextBytes = maxTextBytes
        }

        /// The values a runtime uses for absent text keys.
        public enum Defaults {
            /// `max_sequence_length` (all-MiniLM-L6-v2's, as sentence-transformers sets it).
            public static let maxSequenceLength = 256
            /// `pooling`.
            public static let pooling = Pooling.mean
            /// `normalize`.
            public static let normalize = true
            /// `lowercase`.
            public static let lowercase = true
            /// `max_texts`.
            public static let maxTexts = 8
            /// `max_text_bytes`.
            public static let maxTextBytes = 16384
        }
    }

    /// `[runtime]`: resource limits of the execution loop.
    public struct Runtime: Sendable, Equatable {
        /// 1…64 (default 1): the runtime's worker threads (requests served at once), and the threads each model
        /// run splits its weight products across (onnxruntime's intra-op threads).
        public var threads: Int
        /// Requests per batch, 1…1024 (default 8).
        public var maxBatch: Int
        /// Queued requests, 1…65536 (default 64).
        public var maxQueue: Int
        /// Largest frame accepted, 1024…64 MiB (default 4 MiB).
        public var maxFrameBytes: Int

        /// The defaults used for absent keys.
        public static let defaults = Runtime(threads: 1, maxBatch: 8, maxQueue: 64, maxFrameBytes: 4_194_304)
    }

    /// How the image's data-encryption key reaches the enclave.
    public enum KeyRelease: String, Sendable, Equatable, CaseIterable {
        /// The model owner provisions the key after verifying the enclave's evidence.
        case owner
        /// The enclave asks a key broker (`enclava keybroker serve`), which checks its evidence against
        /// the image's release policy (DESIGN.md §7).
        case broker
        /// The key is sealed to a platform sealing key.
        case sealed
    }

    /// What the enclave seals a released key to for its next start (DESIGN.md §7, sealed restart).
    public enum SealTo: String, Sendable, Equatable, CaseIterable {
        /// The enclave's own measurement (SGX `_sgx_mrenclave`; the only choice on SEV-SNP and the simulator).
        case measurement
        /// The enclave's signer (SGX `_sgx_mrsigner`): a rebuilt enclave from the same signer opens it.
        case signer
    }

    /// `[keys]`.
    public struct Keys: Sendable, Equatable {
        /// Key release mode (default `owner`).
        public var release: KeyRelease
        /// `seal_to`, when given (nil means ``SealTo/measurement``).
        public var sealTo: SealTo?

        /// Creates a `[keys]` table.
        public init(release: KeyRelease, sealTo: SealTo? = nil) {
            self.release = release
            self.sealTo = sealTo
        }

        /// What a released key is sealed to (``SealTo/measurement`` unless the manifest says otherwise).
        public var effectiveSealTo: SealTo { sealTo ?? .measurement }
    }

    /// `[image]`.
    public var image: Image
    /// `[model]`.
    public var model: Model
    /// `[pipeline]`.
    public var pipeline: Pipeline
    /// `[runtime]`.
    public var runtime: Runtime
    /// `[keys]`.
    public var keys: Keys

    /// The files the image carries, in image order: the model, then the tokenizer if any.
    public var assets: [ManifestAsset] {
        var result = [ManifestAsset(name: model.file, role: .model)]
        if let tokenizer = pipeline.tokenizer { result.append(ManifestAsset(name: tokenizer, role: .tokenizer)) }
        return result
    }
}

/// The role of an asset in an image.
public enum AssetRole: String, Sendable, Equatable, Codable, CaseIterable {
    /// The model file.
    case model
    /// The tokenizer vocabulary.
    case tokenizer
}

/// A file named by a manifest.
public struct ManifestAsset: Sendable, Equatable {
    /// Normalized path relative to the manifest's folder.
    public var name: String
    /// What the file is for.
    public var role: AssetRole
}
