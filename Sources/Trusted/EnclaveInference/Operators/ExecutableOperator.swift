import EnclaveKernels

/// One executable ONNX operator, built once at load time from a ``GraphNode`` (attributes parsed and
/// checked then), and run for every request.
///
/// A run has two passes, so that memory can be planned before anything is computed: ``outputShapes(_:values:)``
/// for every node (this is where dynamic dimensions are resolved; small integer values such as shape
/// tensors are computed here too, see ``RequestPlanner``), then ``execute(inputs:outputs:kernels:)`` into
/// the planned buffers. Operators hold no mutable state, so one instance serves any number of concurrent requests.
protocol ExecutableOperator: Sendable {
    /// Output element types for the given input types (nil = absent optional input).
    /// - Throws: ``InferenceError`` when the types are not supported.
    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType]

    /// Output shapes for one request's input shapes (nil = absent optional input), for operators whose
    /// output shapes depend on input shapes only.
    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]]

    /// Inputs whose values the output shapes depend on (Reshape's `shape`, Slice's `starts`, …).
    var valueInputs: [Int] { get }

    /// Output shapes, given the values of ``valueInputs`` (the others may be nil).
    /// - Throws: ``InferenceError`` when the shapes do not fit together.
    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]]

    /// False for operators that read only their inputs' shapes (Shape, Size).
    var readsInputData: Bool { get }

    /// Outputs that are views of an input's bytes under a new shape (output index → input index).
    var aliases: [Int: Int] { get }

    /// Computes the outputs. Shapes were checked by ``outputShapes(_:values:)``; output buffers have exactly
    /// the size their shapes need and do not overlap the inputs.
    /// - Throws: ``InferenceError`` `invalidArgument` for data that is out of range (such as a token id
    ///   beyond the embedding table).
    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws
}

extension ExecutableOperator {
    var aliases: [Int: Int] { [:] }
    var valueInputs: [Int] { [] }
    var readsInputData: Bool { true }
    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        preconditionFailure("an operator implements one of the outputShapes methods")
    }
    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        try outputShapes(inputs)
    }
}

// MARK: - helpers for operator implementations

extension GraphNode {
    /// Checks the number of inputs (counting trailing optional ones) and outputs.
    func requireArity(inputs: ClosedRange<Int>, outputs: Int) throws {
        try requireArity(inputs: inputs, outputs: outputs...outputs)
    }

    /// Checks the number of inputs and a range of output counts.
    func requireArity(inputs: ClosedRange<Int>, outputs: ClosedRange<Int>) throws {
        guard inputs.contains(self.inputs.count) else {
            throw InferenceError.malformed("\(label) has \(self.inputs.count) inputs; it takes \(inputs.lowerBound)…\(inputs.upperBound)")
        }
        guard outputs.contains(self.outputs.count) else {
            throw InferenceError.malformed("\(label) has \(self.outputs.count) outputs; it produces \(outputs.lowerBound)…\(outputs.upperBound)")
        }
        for index in 0..<inputs.lowerBound where self.inputs[index].isEmpty {
            throw InferenceError.malformed("\(label): required input \(index) is empty")
        }
    }

    /// Refuses an empty input name anywhere, for operators whose inputs are all required however many there are
    /// (Concat, Sum, Max, Min, Mean): there an empty name is not an omitted optional input but a malformed node.
    func requireAllInputsPresent() throws {
        if let index = inputs.firstIndex(where: \.isEmpty) {
            throw InferenceError.malformed("\(label): input \(index) is empty; every input of \(opType) is required")
        }
    }

    /// A list-of-integers attribute, or `value` when absent.
    func intsAttribute(_ key: String, default value: [Int64]? = nil) throws -> [Int64]? {
        switch attributes[key] {
        case nil: return value
        case .ints(let v)?: return v
        case .int(let v)?: return [v]
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be a list of integers")
        }
    }

    func stringAttribute(_ key: String, default value: String) throws -> String {
        switch attributes[key] {
        case nil: return value
        case .string(let v)?: return v
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be a string")
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

/// Refuses inputs whose types are not in `allowed`.
func requireTypes(_ types: [TensorDataType?], _ allowed: Set<TensorDataType>, _ label: String, _ opType: String) throws {
    for type in types.compactMap({ $0 }) where !allowed.contains(type) {
        throw InferenceError(.unsupportedOperator, "\(label) on \(type) tensors is not supported",
                             operators: ["\(opType)(\(type))"])
    }
}

/// Refuses inputs of different element types where an operator needs them equal.
func requireSameType(_ types: [TensorDataType?], _ label: String) throws -> TensorDataType {
    let present = types.compactMap { $0 }
    guard let first = present.first, present.allSatisfy({ $0 == first }) else {
        throw InferenceError.malformed("\(label): inputs have different element types \(present)")
    }
    return first
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

/// Checks a computed shape's element count against the limit.
func checkedCount(_ shape: [Int], _ label: String) throws -> Int {
    guard shape.allSatisfy({ $0 >= 0 }), let count = Shape.elementCount(shape) else {
        throw shapeError(label, "shape \(Shape.text(shape)) is invalid or too large")
    }
    return count
}
