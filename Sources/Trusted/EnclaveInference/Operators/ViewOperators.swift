import EnclaveKernels

/// `Flatten`: a 2-D view `[d0·…·d(axis-1), d(axis)·…·d(n-1)]` of the input, any element type. No copy.
struct FlattenOperator: ExecutableOperator {
    let label: String
    let axis: Int64

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: 1)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let shape = inputs[0]!
        let split = try normalizeAxis(axis, rank: shape.count, allowRank: true, label)
        guard let rows = Shape.elementCount(shape[..<split]), let columns = Shape.elementCount(shape[split...]) else {
            throw shapeError(label, "shape \(Shape.text(shape)) is too large")
        }
        return [[rows, columns]]
    }

    var aliases: [Int: Int] { [0: 0] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {}
}

/// `Identity`: the input itself, any element type. No copy.
struct IdentityOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] { [inputs[0]!] }

    var aliases: [Int: Int] { [0: 0] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {}
}
