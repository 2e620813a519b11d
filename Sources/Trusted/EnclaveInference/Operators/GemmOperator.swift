import EnclaveKernels

/// `Gemm`: `Y = alpha · op(A) · op(B) + beta · C`, with C broadcast to `[M, N]` (optional since opset 11).
struct GemmOperator: ExecutableOperator {
    let label: String
    let alpha: Float
    let beta: Float
    let transA: Bool
    let transB: Bool

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...3, outputs: 1)
        try node.requireOnlyAttributes(["alpha", "beta", "transA", "transB"])
        label = node.label
        alpha = try node.floatAttribute("alpha", default: 1)
        beta = try node.floatAttribute("beta", default: 1)
        transA = try node.intAttribute("transA", default: 0) != 0
        transB = try node.intAttribute("transB", default: 0) != 0
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "Gemm")
        return [.float32]
    }

    private func geometry(_ a: [Int], _ b: [Int]) throws -> (m: Int, k: Int, n: Int) {
        guard a.count == 2, b.count == 2 else {
            throw shapeError(label, "Gemm needs rank-2 inputs, got \(Shape.text(a)) and \(Shape.text(b))")
        }
        let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
        let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
        guard k == kb else { throw shapeError(label, "inner dimensions differ: \(Shape.text(a)) × \(Shape.text(b))") }
        return (m, k, n)
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let g = try geometry(inputs[0]!, inputs[1]!)
        if inputs.count > 2, let c = inputs[2], !Broadcast.isUnidirectional(c, to: [g.m, g.n]) {
            throw shapeError(label, "C \(Shape.text(c)) does not broadcast to [\(g.m), \(g.n)]")
        }
        return [[g.m, g.n]]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        guard let g = try? geometry(a.shape, b.shape) else { preconditionFailure("shapes were checked") }
        var effectiveBeta: Float = 0
        let py = y.floats
        if inputs.count > 2, let c = inputs[2], beta != 0 {
            // Y ← broadcast(C), then Y ← alpha·AB + beta·Y.
            let output = [g.m, g.n]
            let strides = Broadcast.strides(of: c.shape, in: output)
            let loop = BroadcastLoop(output: output, stridesA: strides, stridesB: strides)
            let pc = c.floats
            loop.forEachRun { offsetC, _, offsetY in
                let span = (loop.innerCount - 1) * loop.innerStrideA + 1
                kernels.copy(count: loop.innerCount, x: UnsafeBufferPointer(rebasing: pc[offsetC..<(offsetC + span)]),
                             stride: loop.innerStrideA,
                             y: UnsafeMutableBufferPointer(rebasing: py[offsetY..<(offsetY + loop.innerCount)]))
            }
            effectiveBeta = beta
        }
        kernels.gemm(transA: transA, transB: transB, m: g.m, n: g.n, k: g.k, alpha: alpha,
                     a: a.floats, lda: a.shape[1], b: b.floats, ldb: b.shape[1], beta: effectiveBeta, c: py, ldc: g.n)
    }
}
