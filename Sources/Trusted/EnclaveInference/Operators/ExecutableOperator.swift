import EnclaveKernels

/// One executable ONNX operator, built once at load time from a ``GraphNode`` (attributes parsed and
/// checked then), and run for every request.
///
/// A run has two passes, so that memory can be planned before anything is computed: ``outputShapes(_:)``
/// for every node (this is where dynamic dimensions are resolved and where a memory plan that reuses
/// buffers slots in), then ``execute(inputs:outputs:kernels:)`` into the planned buffers. Operators hold
/// no mutable state, so one instance serves any number of concurrent requests.
protocol ExecutableOperator: Sendable {
    /// Output element types for the given input types (nil = absent optional input).
    /// - Throws: ``InferenceError`` when the types are not supported.
    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType]

    /// Output shapes for one request's input shapes (nil = absent optional input).
    /// - Throws: ``InferenceError`` when the shapes do not fit together.
    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]]

    /// Outputs that are views of an input's bytes under a new shape (output index → input index).
    var aliases: [Int: Int] { get }

    /// Computes the outputs. Shapes were checked by ``outputShapes(_:)``; output buffers have exactly the
    /// size their shapes need and do not overlap the inputs.
    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet)
}

extension ExecutableOperator {
    var aliases: [Int: Int] { [:] }
}

/// The operators Enclava implements, and how each is built from a node.
enum OperatorRegistry {
    /// Supported op types of the default ONNX domain (`Constant` is folded into the weights at load time).
    static let supported: Set<String> = [
        "Add", "Constant", "Div", "Flatten", "Gemm", "Identity", "MatMul", "Mul", "Relu", "Sigmoid", "Softmax", "Sub",
    ]

    /// Supported default-domain opset versions.
    static let opsetRange: ClosedRange<Int64> = 13...28

    /// Every op type in `nodes` that is not supported, sorted and without duplicates.
    static func unsupported(in nodes: [GraphNode]) -> [String] {
        Set(nodes.filter { !$0.isDefaultDomain || !supported.contains($0.opType) }.map(\.qualifiedOpType)).sorted()
    }

    /// Builds the operator for a (supported, non-Constant) node.
    /// - Throws: ``InferenceError`` for bad or unsupported attributes and wrong input/output counts.
    static func make(_ node: GraphNode, opset: Int64) throws -> any ExecutableOperator {
        switch node.opType {
        case "MatMul": return try MatMulOperator(node)
        case "Gemm": return try GemmOperator(node)
        case "Add": return try BinaryOperator(node, .add)
        case "Sub": return try BinaryOperator(node, .sub)
        case "Mul": return try BinaryOperator(node, .mul)
        case "Div": return try BinaryOperator(node, .div)
        case "Relu": return try UnaryOperator(node, .relu)
        case "Sigmoid": return try UnaryOperator(node, .sigmoid)
        case "Softmax": return try SoftmaxOperator(node)
        case "Flatten": return try FlattenOperator(node)
        case "Identity": return try IdentityOperator(node)
        default:
            throw InferenceError(.unsupportedOperator, "operator \(node.qualifiedOpType) is not supported",
                                 operators: [node.qualifiedOpType])
        }
    }
}

// MARK: - helpers for operator implementations

extension GraphNode {
    /// Checks the number of inputs (counting trailing optional ones) and outputs.
    func requireArity(inputs: ClosedRange<Int>, outputs: Int) throws {
        guard inputs.contains(self.inputs.count) else {
            throw InferenceError.malformed("\(label) has \(self.inputs.count) inputs; it takes \(inputs.lowerBound)…\(inputs.upperBound)")
        }
        guard self.outputs.count == outputs else {
            throw InferenceError.malformed("\(label) has \(self.outputs.count) outputs; it produces \(outputs)")
        }
        for index in 0..<inputs.lowerBound where self.inputs[index].isEmpty {
            throw InferenceError.malformed("\(label): required input \(index) is empty")
        }
    }
}

/// Refuses non-float32 inputs for float-only operators.
func requireFloat32(_ types: [TensorDataType?], _ label: String, _ opType: String) throws {
    for type in types.compactMap({ $0 }) where type != .float32 {
        throw InferenceError(.unsupportedOperator, "\(label) on \(type) tensors is not supported (float32 only)",
                             operators: ["\(opType)(\(type))"])
    }
}

/// An error about shapes met at run time: they come from the request's inputs.
func shapeError(_ label: String, _ detail: String) -> InferenceError {
    InferenceError(.invalidArgument, "\(label): \(detail); check the input shapes against the model's inputs")
}

/// Normalizes an axis attribute against a rank (`-1` → `rank - 1`); `allowRank` admits `rank` itself.
func normalizeAxis(_ axis: Int64, rank: Int, allowRank: Bool = false, _ label: String) throws -> Int {
    let upper = allowRank ? rank : rank - 1
    let value = axis < 0 ? Int(axis) + rank : Int(axis)
    guard axis >= -Int64(rank), value >= 0, value <= upper else {
        throw InferenceError.malformed("\(label): axis \(axis) is out of range for a rank-\(rank) input")
    }
    return value
}
