import EnclaveKernels

/// `Softmax` (opset 13 semantics: over one axis, default the last).
struct SoftmaxOperator: ExecutableOperator {
    let label: String
    let axis: Int64

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: -1)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "Softmax")
        return [.float32]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let shape = inputs[0]!
        guard !shape.isEmpty else { throw shapeError(label, "Softmax needs an input of rank 1 or more") }
        _ = try normalizeAxis(axis, rank: shape.count, label)
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!
        guard let axisIndex = try? normalizeAxis(axis, rank: x.shape.count, label) else { preconditionFailure("axis was checked") }
        let outer = Shape.elementCount(x.shape[..<axisIndex]) ?? 0
        let inner = Shape.elementCount(x.shape[(axisIndex + 1)...]) ?? 0
        kernels.softmax(outer: outer, axis: x.shape[axisIndex], inner: inner, x: x.floats, y: outputs[0].floats)
    }
}
