import EnclaveKernels

/// `MatMul`: numpy matrix product, with 1-D promotion and broadcast batch dimensions.
struct MatMulOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "MatMul")
        return [.float32]
    }

    /// The operands as matrices: (batch shape of A, batch shape of B, broadcast batch shape, M, K, N).
    private func geometry(_ a: [Int], _ b: [Int]) throws -> (batchA: [Int], batchB: [Int], batch: [Int], m: Int, k: Int, n: Int) {
        guard !a.isEmpty, !b.isEmpty else { throw shapeError(label, "MatMul needs inputs of rank 1 or more") }
        let a2 = a.count == 1 ? [1] + a : a
        let b2 = b.count == 1 ? b + [1] : b
        let (m, k) = (a2[a2.count - 2], a2[a2.count - 1])
        let (kb, n) = (b2[b2.count - 2], b2[b2.count - 1])
        guard k == kb else {
            throw shapeError(label, "inner dimensions differ: \(Shape.text(a)) × \(Shape.text(b))")
        }
        let batchA = Array(a2.dropLast(2)), batchB = Array(b2.dropLast(2))
        guard let batch = Broadcast.shape(batchA, batchB) else {
            throw shapeError(label, "batch dimensions do not broadcast: \(Shape.text(a)) × \(Shape.text(b))")
        }
        return (batchA, batchB, batch, m, k, n)
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let (a, b) = (inputs[0]!, inputs[1]!)
        let g = try geometry(a, b)
        var shape = g.batch
        if a.count > 1 { shape.append(g.m) }
        if b.count > 1 { shape.append(g.n) }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        guard let g = try? geometry(a.shape, b.shape) else { preconditionFailure("shapes were checked") }
        let stridesA = Broadcast.strides(of: g.batchA, in: g.batch).map { $0 * g.m * g.k }
        let stridesB = Broadcast.strides(of: g.batchB, in: g.batch).map { $0 * g.k * g.n }
        let batchCount = Shape.elementCount(g.batch) ?? 0
        let (pa, pb, py) = (a.floats, b.floats, y.floats)
        if g.batchB.allSatisfy({ $0 == 1 }), g.batchA == g.batch {
            // One weight matrix for every batch entry (a Linear layer): a single product with M = batch · m.
            let rows = batchCount * g.m
            kernels.gemm(m: rows, n: g.n, k: g.k, a: UnsafeBufferPointer(rebasing: pa[0..<(rows * g.k)]), lda: g.k,
                         b: UnsafeBufferPointer(rebasing: pb[0..<(g.k * g.n)]), ldb: g.n,
                         c: UnsafeMutableBufferPointer(rebasing: py[0..<(rows * g.n)]), ldc: g.n)
            return
        }
        var index = [Int](repeating: 0, count: g.batch.count)
        for matrix in 0..<batchCount {
            var offsetA = 0, offsetB = 0
            for d in index.indices {
                offsetA += index[d] * stridesA[d]
                offsetB += index[d] * stridesB[d]
            }
            let offsetY = matrix * g.m * g.n
            kernels.gemm(m: g.m, n: g.n, k: g.k,
                         a: UnsafeBufferPointer(rebasing: pa[offsetA..<(offsetA + g.m * g.k)]), lda: g.k,
                         b: UnsafeBufferPointer(rebasing: pb[offsetB..<(offsetB + g.k * g.n)]), ldb: g.n,
                         c: UnsafeMutableBufferPointer(rebasing: py[offsetY..<(offsetY + g.m * g.n)]), ldc: g.n)
            // Next batch index (row-major odometer).
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < g.batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
