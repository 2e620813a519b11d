/// Caps on the tensors of one decrypted request, checked before anything is allocated for them.
public struct TensorLimits: Sendable, Equatable {
    /// Named inputs per request.
    public var maxInputs: Int
    /// Dimensions per tensor.
    public var maxRank: Int
    /// Elements per tensor.
    public var maxElements: Int
    /// Bytes of an input name.
    public var maxNameBytes: Int

    /// Creates limits.
    public init(maxInputs: Int = 64, maxRank: Int = 8, maxElements: Int = 16 << 20, maxNameBytes: Int = 256) {
        self.maxInputs = maxInputs
        self.maxRank = maxRank
        self.maxElements = maxElements
        self.maxNameBytes = maxNameBytes
    }
}
