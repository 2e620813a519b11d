import Dispatch
import EnclaveKernels

/// Scaled dot-product attention as torch exports BERT self-attention, fused into one step (see
/// ``AttentionFuser``): with Q, K, V of shape `[batch, sequence, heads, depth]` (the projections' outputs
/// under their head-splitting Reshape, read in place) and an additive mask that broadcasts to
/// `[batch, heads, queries, keys]`,
///
///     P[b, h, i, :] = softmax(scale · Q[b, i, h, :] · K[b, :, h, :]ᵀ + mask[b, h, i, :])   (NaN → 0 if zeroNaN)
///     Y[b, h, i, :] = P[b, h, i, :] · V[b, :, h, :]
///
/// `Y` is `[batch, heads, queries, depthV]`, exactly the graph's `MatMul(P, Vᵀ)` output. The exported graph
/// instead copies Q, K and V into head-major layouts (three Transposes), scales both, multiplies, adds the
/// mask and takes the softmax in separate passes over `[batch, heads, queries, keys]`; here each
/// (batch, head) pair runs two strided products and one masked softmax in a score block that stays in
/// cache, and the pairs are spread over ``threads`` threads.
struct AttentionOperator: ExecutableOperator {
    let label: String
    /// The product of the two scalars the exported graph multiplies Q and Kᵀ by.
    let scale: Float
    /// Write 0 where the softmax is NaN (fully masked rows), as the exported `Where(IsNaN(P), 0, P)` does.
    let zeroNaN: Bool
    /// Threads the (batch, head) pairs are spread over.
    var threads: Int = 1

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "MatMul")
        return [.float32]
    }

    /// (batch, queries, keys, heads, depth, depthV), checked.
    private func geometry(_ inputs: [[Int]?]) throws -> (b: Int, sq: Int, sk: Int, h: Int, d: Int, dv: Int) {
        let q = inputs[0]!, k = inputs[1]!, v = inputs[2]!, mask = inputs[3]!
        guard q.count == 4, k.count == 4, v.count == 4 else {
            throw shapeError(label, "attention needs rank-4 query, key and value, got \(Shape.text(q)), \(Shape.text(k)), \(Shape.text(v))")
        }
        let (b, sq, h, d) = (q[0], q[1], q[2], q[3])
        guard k[0] == b, v[0] == b, k[2] == h, v[2] == h, k[3] == d, v[1] == k[1] else {
            throw shapeError(label, "query \(Shape.text(q)), key \(Shape.text(k)) and value \(Shape.text(v)) do not fit together")
        }
        let scores = [b, h, sq, k[1]]
        guard mask.count <= 4, Broadcast.shape(mask, scores) == scores else {
            throw shapeError(label, "the attention mask \(Shape.text(mask)) does not broadcast to \(Shape.text(scores))")
        }
        return (b, sq, k[1], h, d, v[3])
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let g = try geometry(inputs)
        return [[g.b, g.h, g.sq, g.dv]]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let (q, k, v, mask) = (inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!)
        let g = try geometry([q.shape, k.shape, v.shape, mask.shape])
        let pairs = g.b * g.h
        guard pairs > 0, g.sq > 0, g.dv > 0 else { return }
        guard g.sk > 0 else {   // no keys: every product over them is empty
            outputs[0].floats.initialize(repeating: 0)
            return
        }
        let maskStrides = Broadcast.strides(of: mask.shape, in: [g.b, g.h, g.sq, g.sk])
        let job = AttentionJob(g: g, scale: scale, q: q.floats, k: k.floats, v: v.floats, mask: mask.floats,
                               maskStrides: maskStrides, zeroNaN: zeroNaN, y: outputs[0].floats, kernels: kernels)
        let parts = min(threads, pairs)
        if parts == 1 {
            job.run(pairs: 0..<pairs)
        } else {
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                job.run(pairs: (part * pairs / parts)..<((part + 1) * pairs / parts))
            }
        }
    }
}

/// One attention step's operands, shared by the threads that compute disjoint (batch, head) pairs.
///
/// `@unchecked Sendable`: Q, K, V and the mask are only read; each pair writes only its own block of `y`,
/// and each thread has its own score block.
private struct AttentionJob: @unchecked Sendable {
    let g: (b: Int, sq: Int, sk: Int, h: Int, d: Int, dv: Int)
    let scale: Float
    let q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>
    let mask: UnsafeBufferPointer<Float>
    let maskStrides: [Int]
    let zeroNaN: Bool
    let y: UnsafeMutableBufferPointer<Float>
    let kernels: KernelSet

    func run(pairs: Range<Int>) {
        let (sq, sk, h, d, dv) = (g.sq, g.sk, g.h, g.d, g.dv)
        // The score block of one pair and its row sums (activations: wiped before they are freed).
        let block = UnsafeMutableBufferPointer<Float>.allocate(capacity: sq * sk + sq)
        defer {
            block.initialize(repeating: 0)
            block.deallocate()
        }
        let scores = UnsafeMutableBufferPointer(rebasing: block[0..<(sq * sk)])
        let rowSums = UnsafeMutableBufferPointer(rebasing: block[(sq * sk)...])
        let maskRun = (sk - 1) * maskStrides[3] + 1
        for pair in pairs {
            let (batch, head) = pair.quotientAndRemainder(dividingBy: h)
            // S = scale · Q_bh · K_bhᵀ: Q_bh is sq × d with row stride h·d, K_bh is sk × d (transposed operand).
            let qStart = batch * sq * h * d + head * d, kStart = batch * sk * h * d + head * d
            kernels.gemm(transB: true, m: sq, n: sk, k: d, alpha: scale,
                         a: UnsafeBufferPointer(rebasing: q[qStart..<(qStart + (sq - 1) * h * d + d)]), lda: h * d,
                         b: UnsafeBufferPointer(rebasing: k[kStart..<(kStart + (sk - 1) * h * d + d)]), ldb: h * d,
                         c: scores, ldc: sk)
            // + mask, then the softmax of each row; fully masked rows (NaN) become 0.
            for i in 0..<sq {
                let row = UnsafeMutableBufferPointer(rebasing: scores[(i * sk)..<((i + 1) * sk)])
                let m = batch * maskStrides[0] + head * maskStrides[1] + i * maskStrides[2]
                kernels.binary(.add, count: sk, a: UnsafeBufferPointer(row),
                               b: UnsafeBufferPointer(rebasing: mask[m..<(m + maskRun)]), strideB: maskStrides[3], y: row)
            }
            kernels.softmax(outer: sq, axis: sk, inner: 1, x: UnsafeBufferPointer(scores), y: scores)
            if zeroNaN {
                // Softmax values are in [0, 1] or NaN, so a row holds a NaN exactly when its sum is NaN.
                kernels.reduce(.sum, rows: sq, cols: sk, x: UnsafeBufferPointer(scores), y: rowSums)
                for i in 0..<sq where rowSums[i].isNaN {
                    for index in (i * sk)..<((i + 1) * sk) where scores[index].isNaN { scores[index] = 0 }
                }
            }
            // Y_bh = P · V_bh: V_bh is sk × dv with row stride h·dv; Y_bh is contiguous sq × dv.
            let vStart = batch * sk * h * dv + head * dv, yStart = pair * sq * dv
            kernels.gemm(m: sq, n: dv, k: sk, a: UnsafeBufferPointer(scores), lda: sk,
                         b: UnsafeBufferPointer(rebasing: v[vStart..<(vStart + (sk - 1) * h * dv + dv)]), ldb: h * dv,
                         c: UnsafeMutableBufferPointer(rebasing: y[yStart..<(yStart + sq * dv)]), ldc: dv)
        }
    }
}
