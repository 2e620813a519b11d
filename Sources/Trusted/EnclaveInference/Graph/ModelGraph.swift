/// Where a constant tensor (initializer or `Constant` value) lives inside the sealed ``WeightStore``.
struct WeightRef: Sendable, Equatable {
    let offset: Int
    let byteCount: Int
    let dtype: TensorDataType
    let shape: [Int]
}

/// A node attribute, decoded from `AttributeProto`.
enum AttributeValue: Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    case tensor(WeightRef)
    /// A kind Enclava does not read (graph, sparse tensor, type proto, tensor lists); the text says which.
    case unsupported(String)
}

/// A graph input or output as declared (`ValueInfoProto`).
struct GraphValueInfo: Sendable {
    let name: String
    /// ONNX `TensorProto.DataType`, 0 when not declared or not a tensor.
    let elementType: Int32
    /// nil when no shape is declared.
    let shape: [Int?]?
    let dimensionNames: [String?]
}

/// A decoded ONNX model: the graph's structure, with every constant tensor already copied into sealed
/// memory and referred to by ``WeightRef``.
struct ModelGraph: Sendable {
    let irVersion: Int64
    /// Opset versions by domain (`""` is the default ONNX domain).
    let opsets: [String: Int64]
    let nodes: [GraphNode]
    /// Initializers in file order.
    let initializers: [(name: String, weight: WeightRef)]
    let inputs: [GraphValueInfo]
    let outputs: [GraphValueInfo]
}
