import EnclaveKernels
import EnclaveSealing

/// `MatMul(A, W)` with a constant 2-D `W` packed once, at load time, in the GEMM kernel's layout (in sealed
/// memory): a request then skips packing the weights, which for short sequences costs as much as the
/// multiply. A's leading dimensions fold into the rows of one product.
struct PackedMatMulOperator: ExecutableOperator {
    let label: String
    let packed: PackedMatrix
    /// The kernels that packed `packed` (a packed matrix is only valid with them).
    let packingKernels: KernelSet
    /// Keeps the packed floats alive.
    let storage: SealedBlock
    /// Threads the product is split across (large products only; see `KernelSet.gemm`).
    let threads: Int
    /// A bias row added to every output row (a following `Add` folded in), in the weight store.
    var bias: (store: WeightStore, weight: WeightRef)? = nil
    /// An activation applied to the result (a following fused `Gelu` folded in).
    var activation: UnaryKernel? = nil

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "MatMul")
        return [.float32]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let a = inputs[0]!
        guard let k = a.last, k == packed.k else {
            throw shapeError(label, "inner dimensions differ: \(Shape.text(a)) × [\(packed.k), \(packed.n)]")
        }
        return [a.count == 1 ? [packed.n] : Array(a.dropLast()) + [packed.n]]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, y = outputs[0]
        let rows = a.count / max(packed.k, 1)
        var beta: Float = 0
        if let bias {
            // C ← the bias in every row; the product then accumulates onto it (beta = 1).
            let row = bias.store.bytes(bias.weight)
            for r in 0..<rows { (y.bytes.baseAddress! + r * row.count).copyMemory(from: row.baseAddress!, byteCount: row.count) }
            beta = 1
        }
        guard kernels == packingKernels else {
            kernels.gemm(m: rows, n: packed.n, k: packed.k, a: a.floats, lda: packed.k, b: inputs[1]!.floats, ldb: packed.n,
                         beta: beta, c: y.floats, ldc: packed.n, threads: threads)
            if let activation { kernels.unary(activation, x: UnsafeBufferPointer(y.floats), y: y.floats) }
            return
        }
        kernels.gemm(m: rows, a: a.floats, lda: packed.k, packedB: packed, beta: beta, c: y.floats, ldc: packed.n,
                     threads: threads, activation: activation)
    }
}

/// Replaces every MatMul by a constant 2-D float matrix with a ``PackedMatMulOperator``, packing all those
/// matrices into one sealed block, and folds a bias `Add` and then a fused `Gelu` that follow one into its product.
enum WeightPacker {
    static func pack(_ plan: inout ExecutionPlan, weights: WeightStore, lockPolicy: MemoryLockPolicy, threads: Int) throws {
        let kernels = KernelSet.selected
        var candidates: [(step: Int, weight: WeightRef, offset: Int)] = []
        var total = 0
        for (index, step) in plan.steps.enumerated() where step.op is MatMulOperator {
            guard step.inputs.count == 2, let slot = step.inputs[1], case .weight(let weight) = plan.values[slot].source,
                  weight.dtype == .float32, weight.shape.count == 2, weight.shape[0] > 0, weight.shape[1] > 0 else { continue }
            let offset = WeightStore.align(total)
            total = offset + kernels.packedByteCount(k: weight.shape[0], n: weight.shape[1])
            candidates.append((index, weight, offset))
        }
        guard !candidates.isEmpty, total > 0 else { return }
        var readers = [Int](repeating: 0, count: plan.values.count)
        var reader: [Int: Int] = [:]
        for (index, step) in plan.steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) {
                readers[slot] += 1
                reader[slot] = index
            }
        }
        for slot in plan.outputSlots { readers[slot] += 2 }
        var removed = Set<Int>()
        let block = try SealedBlock(count: total, lockPolicy: lockPolicy, purpose: "the model's packed weights")
        for (index, weight, offset) in candidates {
            let (k, n) = (weight.shape[0], weight.shape[1])
            let bytes = kernels.packedByteCount(k: k, n: n)
            let packed = kernels.packB(k: k, n: n, b: weights.bytes(weight).bindMemory(to: Float.self), ldb: n,
                                       into: UnsafeMutableRawBufferPointer(start: block.base + offset, count: bytes))
            let step = plan.steps[index]
            var op = PackedMatMulOperator(label: step.label, packed: packed, packingKernels: kernels, storage: block, threads: threads)
            var outputs = step.outputs
            // Fold a following bias Add (`Add(b, x·W)` or `Add(x·W, b)` with a constant b of shape [n]).
            if readers[outputs[0]] == 1, let next = reader[outputs[0]], let add = plan.steps[next].op as? BinaryOperator,
               add.kind == .add, plan.steps[next].inputs.count == 2 {
                let other = plan.steps[next].inputs[0] == outputs[0] ? plan.steps[next].inputs[1] : plan.steps[next].inputs[0]
                if let other, case .weight(let bias) = plan.values[other].source, bias.dtype == .float32, bias.shape == [n] {
                    op.bias = (weights, bias)
                    outputs = plan.steps[next].outputs
                    removed.insert(next)
                }
            }
            // Fold a following fused GELU (the Linear layer's activation) into the product's epilogue.
            if readers[outputs[0]] == 1, let next = reader[outputs[0]], let gelu = plan.steps[next].op as? UnaryOperator,
               case .kernel(.gelu) = gelu.function, plan.steps[next].inputs.count == 1 {
                op.activation = .gelu
                outputs = plan.steps[next].outputs
                removed.insert(next)
            }
            plan.steps[index] = ExecutionPlan.Step(label: step.label + " (packed)", op: op, inputs: step.inputs, outputs: outputs)
        }
        plan.steps = plan.steps.indices.filter { !removed.contains($0) }.map { plan.steps[$0] }
    }
}
