/// A padded batch of token ids, row-major `[batchSize, sequenceLength]`, as int64 little-endian tensors in
/// secure memory: they become the model's inputs without a copy.
public struct TokenizedBatch: Sendable, Equatable {
    public let batchSize: Int
    public let sequenceLength: Int
    /// `input_ids`.
    public let inputIDBytes: TensorBytes
    /// `attention_mask`: 1 for real tokens, 0 for padding.
    public let attentionMaskBytes: TensorBytes
    /// `token_type_ids`: all 0 (single-segment input).
    public let tokenTypeIDBytes: TensorBytes

    /// A batch over tensors already in secure memory (no copy).
    public init(batchSize: Int, sequenceLength: Int, inputIDs: TensorBytes, attentionMask: TensorBytes, tokenTypeIDs: TensorBytes) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.inputIDBytes = inputIDs
        self.attentionMaskBytes = attentionMask
        self.tokenTypeIDBytes = tokenTypeIDs
    }

    /// A batch from arrays (ids that are not secret: the load-time probe, tests).
    public init(batchSize: Int, sequenceLength: Int, inputIDs: [Int64], attentionMask: [Int64], tokenTypeIDs: [Int64]) {
        self.init(batchSize: batchSize, sequenceLength: sequenceLength,
                  inputIDs: HostTensor(int64: inputIDs, shape: [inputIDs.count]).data,
                  attentionMask: HostTensor(int64: attentionMask, shape: [attentionMask.count]).data,
                  tokenTypeIDs: HostTensor(int64: tokenTypeIDs, shape: [tokenTypeIDs.count]).data)
    }

    /// The ids as an ordinary array — a copy outside secure memory: for tests and tools only.
    public var inputIDs: [Int64] { HostTensor.decode(inputIDBytes, as: UInt64.self).map { Int64(bitPattern: $0) } }
    /// The mask as an ordinary array (tests and tools).
    public var attentionMask: [Int64] { HostTensor.decode(attentionMaskBytes, as: UInt64.self).map { Int64(bitPattern: $0) } }
    /// The token types as an ordinary array (tests and tools).
    public var tokenTypeIDs: [Int64] { HostTensor.decode(tokenTypeIDBytes, as: UInt64.self).map { Int64(bitPattern: $0) } }

    /// The batch as the model inputs BERT exports use (`input_ids`, `attention_mask`, `token_type_ids`),
    /// sharing its secure memory.
    public var tensors: [String: HostTensor] {
        let shape = [batchSize, sequenceLength]
        return ["input_ids": HostTensor(dtype: .int64, shape: shape, data: inputIDBytes),
                "attention_mask": HostTensor(dtype: .int64, shape: shape, data: attentionMaskBytes),
                "token_type_ids": HostTensor(dtype: .int64, shape: shape, data: tokenTypeIDBytes)]
    }
}
