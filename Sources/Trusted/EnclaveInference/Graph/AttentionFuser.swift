/// Load-time rewrite of torch's BERT self-attention into one ``AttentionOperator`` step:
///
///     Qt = Transpose(Qr, perm 0,2,1,3)   Kt = Transpose(Kr, perm 0,2,3,1)   Vt = Transpose(Vr, perm 0,2,1,3)
///     S  = MatMul(Mul(Qt, a), Mul(Kt, b))        (a, b scalar constants; either operand order of Mul)
///     P  = Softmax(Add(S, mask), axis -1)        (either operand order of Add; the masked-row form too)
///     Y  = MatMul(P, Vt)
///
/// becomes `Y = Attention(Qr, Kr, Vr, mask; scale a·b)`. Runs after ``PatternFuser`` (which has already
/// turned `Where(IsNaN(P), 0, P)` into the masked-row softmax). Every intermediate value must have exactly one
/// reader of its data and not be a graph output; only the transposes may also have readers of their shape
/// alone (they stay as ``ShapeOnlyOperator`` steps). Anything else leaves the graph as it is.
enum AttentionFuser {
    static func fuse(_ plan: inout ExecutionPlan, weights: WeightStore, threads: Int) {
        // Readers of each value's data, and of its shape only (Shape, Size): torch reads the shapes of the
        // transposed Q and V to rebuild the output's shape.
        var readers = [Int](repeating: 0, count: plan.values.count)
        var shapeReaders = [Int](repeating: 0, count: plan.values.count)
        var producer = [Int: Int]()
        for (index, step) in plan.steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) {
                if step.op.readsInputData { readers[slot] += 1 } else { shapeReaders[slot] += 1 }
            }
            for slot in step.outputs { producer[slot] = index }
        }
        for slot in plan.outputSlots { readers[slot] += 1_000_000 }

        func scalar(_ slot: Int?) -> Float? {
            guard let slot, plan.values[slot].dtype == .float32 else { return nil }
            switch plan.values[slot].source {
            case .weight(let w) where w.byteCount == 4: return weights.bytes(w).loadUnaligned(as: Float.self)
            case .folded(let b, _) where b.count == 4: return b.bytes.loadUnaligned(as: Float.self)
            default: return nil
            }
        }
        /// The step producing `slot`, when `slot` is an intermediate with that step as its only producer and
        /// exactly one reader.
        func single(_ slot: Int?) -> Int? {
            guard let slot, readers[slot] == 1, let index = producer[slot], plan.steps[index].outputs.count == 1 else { return nil }
            return index
        }
        /// The input of a `Transpose(perm)` step.
        func transposed(_ index: Int, _ perm: [Int]) -> Int? {
            guard let op = plan.steps[index].op as? TransposeOperator, op.perm == perm else { return nil }
            return plan.steps[index].inputs[0]
        }
        /// `Mul(x, c)` or `Mul(c, x)` with a scalar constant c: (the step producing x, c).
        func scaled(_ index: Int) -> (Int, Float)? {
            guard let op = plan.steps[index].op as? BinaryOperator, op.kind == .mul, plan.steps[index].inputs.count == 2 else { return nil }
            let (p, q) = (plan.steps[index].inputs[0], plan.steps[index].inputs[1])
            if let c = scalar(q), let x = single(p) { return (x, c) }
            if let c = scalar(p), let x = single(q) { return (x, c) }
            return nil
        }

        var removed = Set<Int>()
        var replaced: [Int: ExecutionPlan.Step] = [:]
        for (y, step) in plan.steps.enumerated() where step.op is MatMulOperator && step.inputs.count == 2 {
            // Y = MatMul(P, Vt)
            guard let softmaxStep = single(step.inputs[0]), let vtStep = single(step.inputs[1]),
                  let vr = transposed(vtStep, [0, 2, 1, 3]),
                  let softmax = plan.steps[softmaxStep].op as? SoftmaxOperator, !softmax.isLog, softmax.axis == -1 || softmax.axis == 3,
                  let addStep = single(plan.steps[softmaxStep].inputs[0]),
                  let add = plan.steps[addStep].op as? BinaryOperator, add.kind == .add, plan.steps[addStep].inputs.count == 2
            else { continue }
            // Add(S, mask) or Add(mask, S), S = MatMul(Mul(Qt, a), Mul(Kt, b))
            let addInputs = plan.steps[addStep].inputs
            var found: (s: Int, mask: Int)?
            for (s, mask) in [(addInputs[0], addInputs[1]), (addInputs[1], addInputs[0])] {
                if let s, let mask, let index = single(s), plan.steps[index].op is MatMulOperator { found = (index, mask); break }
            }
            guard let (sStep, mask) = found, plan.steps[sStep].inputs.count == 2,
                  let qsStep = single(plan.steps[sStep].inputs[0]), let ksStep = single(plan.steps[sStep].inputs[1]),
                  let (qtStep, a) = scaled(qsStep), let (ktStep, b) = scaled(ksStep),
                  let qr = transposed(qtStep, [0, 2, 1, 3]), let kr = transposed(ktStep, [0, 2, 3, 1]),
                  plan.values[mask].dtype == .float32
            else { continue }
            let group = [qtStep, qsStep, ktStep, ksStep, sStep, addStep, softmaxStep, vtStep]
            let transposes = [qtStep, ktStep, vtStep]
            guard Set(group).count == group.count, removed.isDisjoint(with: group + [y]),
                  group.allSatisfy({ transposes.contains($0) || shapeReaders[plan.steps[$0].outputs[0]] == 0 })
            else { continue }
            let op = AttentionOperator(label: step.label, scale: a * b, zeroNaN: softmax.zeroNaN, threads: threads)
            replaced[y] = ExecutionPlan.Step(label: "Attention '\(plan.values[step.outputs[0]].name)' (fused)", op: op,
                                             inputs: [qr, kr, vr, mask], outputs: step.outputs)
            removed.formUnion(group)
            // A transpose whose shape is still read stays, as a shape with no data.
            for index in transposes where shapeReaders[plan.steps[index].outputs[0]] > 0 {
                let original = plan.steps[index]
                replaced[index] = ExecutionPlan.Step(label: original.label + " (shape only)",
                                                     op: ShapeOnlyOperator(wrapped: original.op, source: 0),
                                                     inputs: original.inputs, outputs: original.outputs)
            }
        }
        guard !replaced.isEmpty else { return }
        plan.steps = plan.steps.indices.compactMap { index in
            if let step = replaced[index] { return step }
            return removed.contains(index) ? nil : plan.steps[index]
        }
    }
}
