/// A model input or output as the model declares it.
public struct TensorSpec: Sendable, Equatable, CustomStringConvertible {
    /// The graph value's name, e.g. `"features"`.
    public let name: String
    /// The element type.
    public let dtype: TensorDataType
    /// One entry per dimension: a fixed size, or nil for a dynamic one (such as the batch dimension).
    /// Empty with ``isRankKnown`` false when the model declares no shape at all.
    public let shape: [Int?]
    /// Symbolic names of dynamic dimensions where the model gives one (`"N"`, `"batch"`), else nil.
    public let dimensionNames: [String?]
    /// Whether the model declares the rank.
    public let isRankKnown: Bool

    /// Creates a spec.
    public init(name: String, dtype: TensorDataType, shape: [Int?], dimensionNames: [String?]? = nil, isRankKnown: Bool = true) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dimensionNames = dimensionNames ?? Array(repeating: nil, count: shape.count)
        self.isRankKnown = isRankKnown
    }

    /// The shape as text, e.g. `[N, 8]`.
    public var shapeDescription: String {
        guard isRankKnown else { return "[?]" }
        let parts = shape.indices.map { index in shape[index].map(String.init) ?? dimensionNames[index] ?? "?" }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    public var description: String { "\(name): \(dtype) \(shapeDescription)" }
}
