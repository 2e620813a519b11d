/// Load-time rewrites of exporter patterns into single steps over one kernel:
///
/// * GELU, as torch exports it: `x · (1 + erf(x / √2)) · 0.5` (Div, Erf, Add, Mul, Mul) → the `gelu` kernel.
/// * Masked-attention softmax: `Where(IsNaN(s), 0, s)` with `s = Softmax(x)` → one softmax that writes 0 for
///   rows that are entirely masked (the NaN the plain softmax gives them).
///
/// A pattern is only fused when its intermediate values have no other readers and are not graph outputs.
enum PatternFuser {
    static func fuse(_ plan: inout ExecutionPlan, weights: WeightStore) {
        var readers = [Int](repeating: 0, count: plan.values.count)
        var producer = [Int: Int]()
        for (index, step) in plan.steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) { readers[slot] += 1 }
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
        func binary(_ index: Int, _ kind: ArithmeticKind) -> BinaryOperator? {
            guard let op = plan.steps[index].op as? BinaryOperator, op.kind == kind else { return nil }
            return op
        }
        /// The single step reading `slot`, if exactly one does.
        var readerOf: [Int: Int] = [:]
        for (index, step) in plan.steps.enumerated() {
            for slot in step.inputs.compactMap({ $0 }) where readers[slot] == 1 { readerOf[slot] = index }
        }
        /// For a binary step with inputs (p, q): the operand that is not `slot`.
        func other(_ index: Int, _ slot: Int) -> Int? {
            let inputs = plan.steps[index].inputs
            guard inputs.count == 2 else { return nil }
            if inputs[0] == slot { return inputs[1] }
            if inputs[1] == slot { return inputs[0] }
            return nil
        }

        var removed = Set<Int>()
        var replaced: [Int: ExecutionPlan.Step] = [:]
        for (e, step) in plan.steps.enumerated() {
            // GELU
            if let unary = step.op as? UnaryOperator, case .kernel(.erf) = unary.function,
               let divSlot = step.inputs[0], readers[divSlot] == 1, let d = producer[divSlot], binary(d, .div) != nil,
               let x = plan.steps[d].inputs[0], let root2 = scalar(plan.steps[d].inputs[1]), abs(root2 - 1.41421356) < 1e-6,
               let erfOut = step.outputs.first, let a = readerOf[erfOut], binary(a, .add) != nil, scalar(other(a, erfOut)) == 1,
               let addOut = plan.steps[a].outputs.first, let m1 = readerOf[addOut], binary(m1, .mul) != nil, other(m1, addOut) == x,
               let m1Out = plan.steps[m1].outputs.first, let m2 = readerOf[m1Out], binary(m2, .mul) != nil,
               scalar(other(m2, m1Out)) == 0.5 {
                let output = plan.steps[m2].outputs[0]
                replaced[d] = ExecutionPlan.Step(label: "Gelu '\(plan.values[output].name)' (fused)",
                                                 op: UnaryOperator(label: plan.steps[m2].label, function: .kernel(.gelu)),
                                                 inputs: [x], outputs: [output])
                removed.formUnion([e, a, m1, m2])
            }
            // Softmax with fully masked rows set to 0
            if let softmax = step.op as? SoftmaxOperator, !softmax.isLog, !softmax.zeroNaN,
               let s = step.outputs.first, readers[s] == 2 {
                let users = plan.steps.indices.filter { plan.steps[$0].inputs.contains(s) }
                if users.count == 2, let i = users.first(where: { plan.steps[$0].op is PredicateOperator }),
                   let w = users.first(where: { plan.steps[$0].op is WhereOperator }),
                   let isNaN = plan.steps[i].op as? PredicateOperator, case .isNaN = isNaN.kind,
                   let mask = plan.steps[i].outputs.first, readers[mask] == 1,
                   plan.steps[w].inputs == [mask, plan.steps[w].inputs[1], s], scalar(plan.steps[w].inputs[1]) == 0 {
                    replaced[e] = ExecutionPlan.Step(label: step.label + " (masked rows → 0)",
                                                     op: SoftmaxOperator(label: softmax.label, axis: softmax.axis, zeroNaN: true),
                                                     inputs: step.inputs, outputs: plan.steps[w].outputs)
                    removed.formUnion([i, w])
                }
            }
        }
        guard !removed.isEmpty || !replaced.isEmpty else { return }
        plan.steps = plan.steps.indices.compactMap { index in
            if let step = replaced[index] { return step }
            return removed.contains(index) ? nil : plan.steps[index]
        }
    }
}
