import EnclavaCrypto

/// Sentence embeddings inside the enclave, as sentence-transformers computes them: WordPiece tokenization,
/// the encoder, mean pooling of `last_hidden_state` over the positions the attention mask marks, and L2
/// normalisation.
///
/// Thread-safe: the model and tokenizer are immutable.
public final class SentenceEmbeddingPipeline: Sendable {
    /// The encoder (inputs `input_ids`, `attention_mask`, optionally `token_type_ids`; first output
    /// `[batch, sequence, hidden]`).
    public let model: InferenceModel
    public let tokenizer: WordPieceTokenizer
    /// Longest token sequence, `[CLS]` and `[SEP]` included (256 for all-MiniLM-L6-v2).
    public let maxSequenceLength: Int
    /// Whether embeddings are scaled to unit length.
    public let normalize: Bool
    /// Most texts per call.
    public let maxBatch: Int
    private let outputName: String
    private let usesTokenTypes: Bool

    /// - Throws: ``InferenceError`` `invalidArgument` when the model's inputs or outputs are not a BERT
    ///   encoder's, or `maxSequenceLength` is below 2.
    public init(model: InferenceModel, tokenizer: WordPieceTokenizer, maxSequenceLength: Int = 256,
                normalize: Bool = true, maxBatch: Int = 64) throws {
        let names = Set(model.inputs.map(\.name))
        guard names.isSubset(of: ["input_ids", "attention_mask", "token_type_ids"]),
              names.contains("input_ids"), names.contains("attention_mask"),
              model.inputs.allSatisfy({ $0.dtype == .int64 }) else {
            throw InferenceError(.invalidArgument, "a sentence-embedding model takes int64 input_ids, attention_mask and "
                                 + "optionally token_type_ids; this one takes \(model.inputs)")
        }
        guard let output = model.outputs.first(where: { $0.name == "last_hidden_state" }) ?? model.outputs.first,
              output.dtype == .float32 else {
            throw InferenceError(.invalidArgument, "a sentence-embedding model needs a float32 [batch, sequence, hidden] output")
        }
        guard maxSequenceLength >= 2, maxBatch >= 1 else {
            throw InferenceError(.invalidArgument, "max_sequence_length must be at least 2 and max batch at least 1")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.maxSequenceLength = maxSequenceLength
        self.normalize = normalize
        self.maxBatch = maxBatch
        self.outputName = output.name
        self.usesTokenTypes = names.contains("token_type_ids")
    }

    /// One embedding per text, as a float32 tensor `[texts.count, hidden]` in secure memory. The texts are
    /// tokenized in place and every intermediate — ids, mask, hidden states, the pooled sums — is locked
    /// memory, zeroized when released (DESIGN.md §5).
    /// - Throws: ``InferenceError`` `invalidArgument` for an empty batch or more than ``maxBatch`` texts,
    ///   and whatever the model throws.
    public func embed(_ texts: TextBatch) throws -> HostTensor {
        guard texts.count > 0, texts.count <= maxBatch else {
            throw InferenceError(.invalidArgument, "send 1…\(maxBatch) texts, got \(texts.count)", inputName: "text")
        }
        return try run(tokenizer.encodeBatch(texts, maxLength: maxSequenceLength))
    }

    /// One embedding per `String` (tests and tools: the texts are copied into secure memory first).
    /// - Throws: as ``embed(_:)-(TextBatch)``.
    public func embed(_ texts: [String]) throws -> HostTensor {
        guard !texts.isEmpty, texts.count <= maxBatch else {
            throw InferenceError(.invalidArgument, "send 1…\(maxBatch) texts, got \(texts.count)", inputName: "text")
        }
        return try embed(TextBatch(copying: texts))
    }

    /// The encoder, pooling and normalisation over an already tokenized batch.
    func run(_ batch: TokenizedBatch) throws -> HostTensor {
        var inputs = batch.tensors
        if !usesTokenTypes { inputs["token_type_ids"] = nil }
        guard let hidden = try model.run(inputs)[outputName], hidden.dtype == .float32, hidden.shape.count == 3,
              hidden.shape[0] == batch.batchSize, hidden.shape[1] == batch.sequenceLength,
              hidden.shape[2] >= 0, hidden.data.count == batch.batchSize * batch.sequenceLength * hidden.shape[2] * 4 else {
            throw InferenceError(.invalidArgument, "the model's output is not [batch, sequence, hidden]")
        }
        let width = hidden.shape[2]
        let pooled = Self.pool(hidden.data, mask: batch.attentionMaskBytes, batch: batch.batchSize,
                               sequence: batch.sequenceLength, width: width, normalize: normalize)
        return HostTensor(dtype: .float32, shape: [batch.batchSize, width], data: pooled)
    }

    /// Mean over the positions where `mask` (int64) is 1 (sum / max(count, 1e-9)), then (optionally)
    /// `x / max(‖x‖, 1e-12)`, from the float32 `states` `[batch, sequence, width]` straight into secure memory.
    static func pool(_ states: TensorBytes, mask: TensorBytes, batch: Int, sequence: Int, width: Int, normalize: Bool) -> TensorBytes {
        var pooled = TensorBytes(count: batch * width * 4)
        pooled.withUnsafeMutableBytes { raw in
            let result = raw.bindMemory(to: Float.self)
            states.withUnsafeBytes { states in
                mask.withUnsafeBytes { mask in
                    func state(_ index: Int) -> Float {
                        Float(bitPattern: UInt32(littleEndian: states.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                    }
                    for b in 0..<batch {
                        var count: Float = 0
                        for s in 0..<sequence where mask.loadUnaligned(fromByteOffset: (b * sequence + s) * 8, as: Int64.self) != 0 {
                            count += 1
                            let row = (b * sequence + s) * width
                            for d in 0..<width { result[b * width + d] += state(row + d) }
                        }
                        let scale = 1 / max(count, 1e-9)
                        for d in 0..<width { result[b * width + d] *= scale }
                        if normalize {
                            var norm: Float = 0
                            for d in 0..<width { norm += result[b * width + d] * result[b * width + d] }
                            let inverse = 1 / max(norm.squareRoot(), 1e-12)
                            for d in 0..<width { result[b * width + d] *= inverse }
                        }
                    }
                }
            }
            // Stored little-endian, like every tensor (a no-op on little-endian machines).
            for index in result.indices { result[index] = Float(bitPattern: result[index].bitPattern.littleEndian) }
        }
        return pooled
    }
}
