import EnclaveInference

/// The text side of an image whose pipeline is `sentence-embedding` (DESIGN.md §5, pipelines): the
/// tokenizer, encoder, pooling and normalisation all run inside the enclave, and each request's texts are
/// held to the manifest's limits before any of that work starts.
public struct TextServing: Sendable {
    /// Turns texts into embeddings.
    public let engine: any TextEngine
    /// Caps on the texts of one request.
    public let limits: TextLimits

    /// Creates the text side of a serving description.
    public init(engine: any TextEngine, limits: TextLimits) {
        self.engine = engine
        self.limits = limits
    }
}

/// Caps on the texts of one decrypted request (`[pipeline] max_texts`, `max_text_bytes`).
public struct TextLimits: Sendable, Equatable {
    /// Texts per request.
    public var maxTexts: Int
    /// UTF-8 bytes per text.
    public var maxTextBytes: Int

    /// Creates limits.
    public init(maxTexts: Int, maxTextBytes: Int) {
        self.maxTexts = maxTexts
        self.maxTextBytes = maxTextBytes
    }
}

/// What a text pipeline runs: texts in, named outputs out (`embeddings`, `[texts, hidden]` float32).
public protocol TextEngine: Sendable {
    /// Embeds a batch of texts, read where they lie in the decrypted request's secure memory.
    /// - Throws: an error naming the input when the texts do not fit the model.
    func embed(texts: TextBatch) throws -> [String: HostTensor]
}

extension SentenceEmbeddingPipeline: TextEngine {
    /// `{"embeddings": [texts.count, hidden]}`, in secure memory.
    public func embed(texts: TextBatch) throws -> [String: HostTensor] {
        ["embeddings": try embed(texts)]
    }
}

extension TextLimits {
    /// Checks the texts of a request against the limits.
    /// - Parameter total: how many texts the request has (`texts` may keep only the first few).
    /// - Returns: nil when they fit, else the refusal (INVALID_ARGUMENT naming the offending input).
    func rejection(of texts: TextBatch, total: Int) -> TensorRejection? {
        guard total > 0 else {
            return TensorRejection(input: "texts", "input `texts`: the request has no texts; send 1…\(maxTexts) texts",
                                   reason: RuntimeReason.invalidArgument)
        }
        guard total <= maxTexts, texts.count == total else {
            return TensorRejection(input: "texts", "input `texts`: the request has \(total) texts; this image accepts at most "
                                   + "\(maxTexts) per request ([pipeline] max_texts); split it into several requests",
                                   reason: RuntimeReason.invalidArgument)
        }
        for index in 0..<texts.count where texts.byteCount(at: index) > maxTextBytes {
            return TensorRejection(input: "texts[\(index)]", "input `texts[\(index)]`: the text is \(texts.byteCount(at: index)) bytes; this image accepts "
                                   + "at most \(maxTextBytes) bytes per text ([pipeline] max_text_bytes); shorten it",
                                   reason: RuntimeReason.invalidArgument)
        }
        return nil
    }
}
