import EnclaveKernels

/// Load-time work on an ``ExecutionPlan``: which values a shape depends on, and shape arithmetic over
/// constants computed once instead of for every request.
enum ConstantFolder {
    /// Values folded at load time have at most this many elements.
    static let maxFoldedElements = 1 << 16

    /// Marks every value whose contents some output shape depends on (Reshape's shape input and what it is
    /// computed from), stopping at operators that read only shapes (Shape, Size).
    static func markShapeValues(_ plan: inout ExecutionPlan) {
        var producer: [Int: Int] = [:]
        for (index, step) in plan.steps.enumerated() {
            for slot in step.outputs { producer[slot] = index }
        }
        var work: [Int] = []
        for step in plan.steps {
            for input in step.op.valueInputs where input < step.inputs.count {
                if let slot = step.inputs[input] { work.append(slot) }
            }
        }
        while let slot = work.popLast() {
            guard !plan.values[slot].needsValue else { continue }
            plan.values[slot].needsValue = true
            guard let index = producer[slot] else { continue }
            let step = plan.steps[index]
            guard step.op.readsInputData else {
                for input in step.op.valueInputs where input < step.inputs.count {
                    if let s = step.inputs[input] { work.append(s) }
                }
                continue
            }
            work.append(contentsOf: step.inputs.compactMap { $0 })
        }
    }

    /// Runs, once, every step whose inputs are all constants and whose outputs are small integer or boolean
    /// values (or values a shape depends on), and turns its outputs into constants.
    static func fold(_ plan: inout ExecutionPlan, weights: WeightStore, limits: ModelLimits) throws {
        var shapes: [[Int]?] = Array(repeating: nil, count: plan.values.count)
        var known: [UnsafeRawBufferPointer?] = Array(repeating: nil, count: plan.values.count)
        for (slot, value) in plan.values.enumerated() {
            if case .weight(let weight) = value.source {
                shapes[slot] = weight.shape
                known[slot] = weights.bytes(weight)
            }
        }
        var remaining: [ExecutionPlan.Step] = []
        for step in plan.steps {
            let op = step.op
            let inputsKnown = step.inputs.allSatisfy { $0 == nil || known[$0!] != nil }
            let aliases = op.aliases
            guard inputsKnown, aliases.isEmpty else {
                remaining.append(step)
                continue
            }
            let inputViews: [TensorView?] = step.inputs.map { slot in
                slot.map { TensorView(dtype: plan.values[$0].dtype, shape: shapes[$0]!, bytes: known[$0]!) }
            }
            let outputShapes: [[Int]]
            do {
                outputShapes = try op.outputShapes(step.inputs.map { $0.map { shapes[$0]! } }, values: inputViews)
            } catch {
                remaining.append(step)   // reported for each request, where the error belongs to it
                continue
            }
            let foldable = zip(step.outputs, outputShapes).allSatisfy { slot, shape in
                guard let count = Shape.elementCount(shape), count <= maxFoldedElements else { return false }
                return plan.values[slot].dtype != .float32 || plan.values[slot].needsValue
            }
            guard foldable else {
                remaining.append(step)
                continue
            }
            var buffers: [HostBuffer] = []
            var outputs: [MutableTensorView] = []
            for (slot, shape) in zip(step.outputs, outputShapes) {
                let dtype = plan.values[slot].dtype
                let buffer = HostBuffer(count: (Shape.elementCount(shape) ?? 0) * dtype.byteCount)
                buffers.append(buffer)
                outputs.append(MutableTensorView(dtype: dtype, shape: shape, bytes: buffer.mutableBytes))
            }
            do {
                try op.execute(inputs: inputViews, outputs: outputs, kernels: .selected)
            } catch {
                remaining.append(step)
                continue
            }
            for (k, slot) in step.outputs.enumerated() {
                plan.values[slot].source = .folded(buffers[k], shape: outputShapes[k])
                shapes[slot] = outputShapes[k]
                known[slot] = buffers[k].bytes
            }
        }
        plan.steps = remaining
    }
}
