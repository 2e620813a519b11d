import EnclaveKernels

/// `Add`, `Sub`, `Mul`, `Div` on float32 with numpy broadcasting.
struct BinaryOperator: ExecutableOperator {
    let label: String
    let opType: String
    let kernel: BinaryKernel

    init(_ node: GraphNode, _ kernel: BinaryKernel) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
        opType = node.opType
        self.kernel = kernel
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, opType)
        return [.float32]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let (a, b) = (inputs[0]!, inputs[1]!)
        guard let shape = Broadcast.shape(a, b) else {
            throw shapeError(label, "shapes \(Shape.text(a)) and \(Shape.text(b)) do not broadcast")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        let loop = BroadcastLoop(output: y.shape, stridesA: Broadcast.strides(of: a.shape, in: y.shape),
                                 stridesB: Broadcast.strides(of: b.shape, in: y.shape))
        let (pa, pb, py) = (a.floats, b.floats, y.floats)
        let count = loop.innerCount
        let spanA = (count - 1) * loop.innerStrideA + 1, spanB = (count - 1) * loop.innerStrideB + 1
        loop.forEachRun { offsetA, offsetB, offsetY in
            kernels.binary(kernel, count: count,
                           a: UnsafeBufferPointer(rebasing: pa[offsetA..<(offsetA + spanA)]), strideA: loop.innerStrideA,
                           b: UnsafeBufferPointer(rebasing: pb[offsetB..<(offsetB + spanB)]), strideB: loop.innerStrideB,
                           y: UnsafeMutableBufferPointer(rebasing: py[offsetY..<(offsetY + count)]))
        }
    }
}

/// `Relu`, `Sigmoid` on float32.
struct UnaryOperator: ExecutableOperator {
    let label: String
    let opType: String
    let kernel: UnaryKernel

    init(_ node: GraphNode, _ kernel: UnaryKernel) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
        opType = node.opType
        self.kernel = kernel
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, opType)
        return [.float32]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] { [inputs[0]!] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        kernels.unary(kernel, x: inputs[0]!.floats, y: outputs[0].floats)
    }
}
