import EnclaveKernels

/// The first pass of a run: every value's shape for this request, and the contents of the values that can
/// be computed from shapes and constants alone (shape tensors, index ranges, masks' geometry).
///
/// Those small integer and boolean values are computed here, on the host, by the operators' own `execute`;
/// steps whose outputs are all known this way are not run again in the compute pass. Float activations are
/// never computed here, and a model input is read here only when a shape depends on its contents.
struct RequestPlanner {
    /// Values with more elements than this are not computed while planning.
    static let maxKnownElements = 1 << 16

    let plan: ExecutionPlan
    let weights: WeightStore
    let limits: ModelLimits
    let kernels: KernelSet

    /// What the first pass found.
    struct Result {
        var shapes: [[Int]]
        /// Contents known before the compute pass (weights, folded constants, planned values).
        var known: [UnsafeRawBufferPointer?]
        /// Steps whose outputs are all known: skipped in the compute pass.
        var precomputed: [Bool]
        /// Keeps the planned values' memory alive.
        var buffers: [HostBuffer]
    }

    func run(inputs: [HostTensor]) throws -> Result {
        let count = plan.values.count
        var result = Result(shapes: Array(repeating: [], count: count), known: Array(repeating: nil, count: count),
                            precomputed: Array(repeating: false, count: plan.steps.count), buffers: [])
        for (slot, value) in plan.values.enumerated() {
            switch value.source {
            case .weight(let weight):
                result.shapes[slot] = weight.shape
                result.known[slot] = weights.bytes(weight)
            case .folded(let buffer, let shape):
                result.shapes[slot] = shape
                result.known[slot] = buffer.bytes
            case .input(let index):
                result.shapes[slot] = inputs[index].shape
                if value.needsValue {
                    let buffer = inputs[index].data.withUnsafeBytes { HostBuffer(copying: $0) }
                    result.buffers.append(buffer)
                    result.known[slot] = buffer.bytes
                }
            case .computed:
                break
            }
        }
        for (index, step) in plan.steps.enumerated() {
            try planStep(step, index: index, &result)
        }
        return result
    }

    private func view(_ slot: Int, _ result: Result) -> TensorView? {
        guard let bytes = result.known[slot] else { return nil }
        return TensorView(dtype: plan.values[slot].dtype, shape: result.shapes[slot], bytes: bytes)
    }

    private func planStep(_ step: ExecutionPlan.Step, index: Int, _ result: inout Result) throws {
        let op = step.op
        let inputShapes: [[Int]?] = step.inputs.map { $0.map { result.shapes[$0] } }
        var values: [TensorView?] = step.inputs.map { $0.flatMap { view($0, result) } }
        for input in op.valueInputs where input < step.inputs.count {
            if let slot = step.inputs[input], values[input] == nil {
                throw InferenceError(.unsupportedOperator,
                                     "\(step.label): input \(input) ('\(plan.values[slot].name)') decides the output shape but "
                                     + "is computed from the request's data; Enclava needs shapes computable from the inputs' shapes",
                                     operators: [step.label])
            }
        }
        let shapes = try op.outputShapes(inputShapes, values: values)
        for (output, slot) in step.outputs.enumerated() {
            guard shapes[output].count <= limits.maxRank else {
                throw InferenceError.limit("value '\(plan.values[slot].name)' would have rank \(shapes[output].count), more than "
                                           + "the limit of \(limits.maxRank)")
            }
            guard let elements = Shape.elementCount(shapes[output]), elements <= limits.maxTensorElements else {
                throw InferenceError.limit("value '\(plan.values[slot].name)' would have shape \(Shape.text(shapes[output])), "
                                           + "more than \(limits.maxTensorElements) elements (the per-tensor limit); send a smaller batch")
            }
            result.shapes[slot] = shapes[output]
        }

        // Can the outputs be computed now?
        let inputsKnown = !op.readsInputData || step.inputs.indices.allSatisfy { step.inputs[$0] == nil || values[$0] != nil }
        guard inputsKnown else { return }
        let aliases = op.aliases
        for (output, slot) in step.outputs.enumerated() {
            let value = plan.values[slot]
            if aliases[output] != nil { continue }
            let elements = Shape.elementCount(shapes[output]) ?? Int.max
            guard elements <= Self.maxKnownElements, value.dtype != .float32 || value.needsValue else { return }
        }
        var outputs: [MutableTensorView] = []
        for (output, slot) in step.outputs.enumerated() {
            if let source = aliases[output], let sourceSlot = step.inputs[source] {
                result.known[slot] = result.known[sourceSlot]
                continue
            }
            let dtype = plan.values[slot].dtype
            let buffer = HostBuffer(count: (Shape.elementCount(shapes[output]) ?? 0) * dtype.byteCount)
            result.buffers.append(buffer)
            result.known[slot] = buffer.bytes
            outputs.append(MutableTensorView(dtype: dtype, shape: shapes[output], bytes: buffer.mutableBytes))
        }
        if !op.readsInputData {
            for (input, slot) in step.inputs.enumerated() where values[input] == nil {
                if let slot { values[input] = TensorView(dtype: plan.values[slot].dtype, shape: result.shapes[slot],
                                                         bytes: UnsafeRawBufferPointer(start: nil, count: 0)) }
            }
        }
        try op.execute(inputs: values, outputs: outputs, kernels: kernels)
        result.precomputed[index] = true
    }
}
