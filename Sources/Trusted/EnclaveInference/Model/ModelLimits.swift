/// Limits a model and each request must stay within. Everything the model file or a request declares is
/// checked against these before memory is allocated for it.
public struct ModelLimits: Sendable, Equatable {
    /// Size of the encoded ONNX file.
    public var maxModelBytes: Int
    /// Memory the protobuf decoder may allocate while decoding the file.
    public var maxDecodedBytes: Int
    /// Nodes over the graph and all sub-graphs.
    public var maxNodes: Int
    /// Initializers (weights).
    public var maxInitializers: Int
    /// Dimensions of any tensor.
    public var maxRank: Int
    /// Elements of any one tensor: weights, inputs, intermediate values and outputs.
    public var maxTensorElements: Int
    /// Bytes of sealed working memory one request may use (inputs, intermediates, outputs).
    public var maxWorkspaceBytes: Int
    /// Bytes of weights (initializers and constants) in total.
    public var maxWeightBytes: Int

    /// Creates limits; the defaults suit models up to a few hundred megabytes.
    public init(maxModelBytes: Int = 256 << 20, maxDecodedBytes: Int = 0, maxNodes: Int = 100_000,
                maxInitializers: Int = 100_000, maxRank: Int = 8, maxTensorElements: Int = 1 << 28,
                maxWorkspaceBytes: Int = 1 << 30, maxWeightBytes: Int = 512 << 20) {
        self.maxModelBytes = maxModelBytes
        self.maxDecodedBytes = maxDecodedBytes > 0 ? maxDecodedBytes : (maxModelBytes > (Int.max >> 4) ? Int.max >> 2 : maxModelBytes * 4 + (16 << 20))
        self.maxNodes = maxNodes
        self.maxInitializers = maxInitializers
        self.maxRank = maxRank
        self.maxTensorElements = maxTensorElements
        self.maxWorkspaceBytes = maxWorkspaceBytes
        self.maxWeightBytes = maxWeightBytes
    }
}
