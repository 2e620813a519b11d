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

/// One graph node, decoded from `NodeProto`. Empty input names are absent optional inputs.
struct GraphNode: Sendable {
    let name: String
    let opType: String
    let domain: String
    let inputs: [String]
    let outputs: [String]
    let attributes: [String: AttributeValue]

    /// Whether the node is in the default ONNX domain.
    var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }

    /// `"Gemm"`, or `"com.microsoft:FusedGemm"` outside the default domain.
    var qualifiedOpType: String { isDefaultDomain ? opType : "\(domain):\(opType)" }

    /// For error messages: `Gemm 'dense2_gemm'`.
    var label: String { "\(opType) '\(name.isEmpty ? (outputs.first ?? "?") : name)'" }
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

// MARK: - attribute access

extension GraphNode {
    func intAttribute(_ key: String, default value: Int64) throws -> Int64 {
        switch attributes[key] {
        case nil: return value
        case .int(let v)?: return v
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be an integer")
        }
    }

    func floatAttribute(_ key: String, default value: Float) throws -> Float {
        switch attributes[key] {
        case nil: return value
        case .float(let v)?: return v
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be a float")
        }
    }

    /// Throws for any attribute not in `known`, so that an attribute that changes the meaning of an op is
    /// never silently ignored.
    func requireOnlyAttributes(_ known: Set<String>) throws {
        for key in attributes.keys.sorted() where !known.contains(key) {
            throw InferenceError(.unsupportedOperator, "\(label): attribute '\(key)' is not supported",
                                 operators: ["\(qualifiedOpType)(\(key))"])
        }
    }
}
