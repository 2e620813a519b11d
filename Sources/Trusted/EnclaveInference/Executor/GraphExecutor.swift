import EnclaveKernels
import EnclaveSealing

/// Runs an ``ExecutionPlan`` for one request.
///
/// 1. Shapes: every step's output shapes are computed from the request's input shapes (dynamic
///    dimensions resolve here) and checked against the limits, and each value gets a place in the
///    request's workspace (views such as Flatten share their input's place). Nothing is computed yet.
/// 2. Memory: one sealed workspace is mapped for the whole request (zeroized and released at the end).
///    Next issue: a liveness-based plan reuses places here instead of giving every value its own.
/// 3. Compute: inputs are copied in, each step runs its kernels, outputs are copied out.
struct GraphExecutor {
    let plan: ExecutionPlan
    let weights: WeightStore
    let limits: ModelLimits
    let lockPolicy: MemoryLockPolicy
    let kernels: KernelSet

    /// Where a value's bytes are during a run.
    private enum Place {
        case weight(WeightRef)
        case workspace(offset: Int, byteCount: Int)
    }

    /// Runs the plan. `inputs[i]` is the validated tensor for `plan.inputs[i]`.
    func run(_ inputs: [HostTensor]) throws -> [String: HostTensor] {
        // 1. shapes and places
        var shapes = [[Int]?](repeating: nil, count: plan.values.count)
        var places = [Place?](repeating: nil, count: plan.values.count)
        var workspaceBytes = 0
        func reserve(_ slot: Int, _ shape: [Int]) throws {
            let dtype = plan.values[slot].dtype
            guard let count = Shape.elementCount(shape), count <= limits.maxTensorElements else {
                throw InferenceError.limit("value '\(plan.values[slot].name)' would have shape \(Shape.text(shape)), more than "
                                           + "\(limits.maxTensorElements) elements (the per-tensor limit); send a smaller batch")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
            let offset = WeightStore.align(workspaceBytes)
            guard !overflow, offset <= limits.maxWorkspaceBytes - bytes else {
                throw InferenceError.limit("this request needs more than \(limits.maxWorkspaceBytes) bytes of working memory; "
                                           + "send a smaller batch")
            }
            workspaceBytes = offset + bytes
            places[slot] = .workspace(offset: offset, byteCount: bytes)
        }
        for (slot, value) in plan.values.enumerated() {
            switch value.source {
            case .weight(let weight):
                shapes[slot] = weight.shape
                places[slot] = .weight(weight)
            case .input(let index):
                shapes[slot] = inputs[index].shape
                try reserve(slot, inputs[index].shape)
            case .computed:
                break
            }
        }
        for step in plan.steps {
            let outputShapes = try step.op.outputShapes(step.inputs.map { $0.map { shapes[$0]! } })
            let aliases = step.op.aliases
            for (index, slot) in step.outputs.enumerated() {
                shapes[slot] = outputShapes[index]
                if let source = aliases[index], let sourceSlot = step.inputs[source] {
                    places[slot] = places[sourceSlot]
                } else {
                    try reserve(slot, outputShapes[index])
                }
            }
        }

        // 2. memory
        let workspace = try SealedBlock(count: workspaceBytes, lockPolicy: lockPolicy, purpose: "a request's working memory")

        func readView(_ slot: Int) -> TensorView {
            let bytes: UnsafeRawBufferPointer
            switch places[slot]! {
            case .weight(let weight): bytes = weights.bytes(weight)
            case .workspace(let offset, let count): bytes = UnsafeRawBufferPointer(start: workspace.base + offset, count: count)
            }
            return TensorView(dtype: plan.values[slot].dtype, shape: shapes[slot]!, bytes: bytes)
        }
        func writeView(_ slot: Int) -> MutableTensorView {
            guard case .workspace(let offset, let count) = places[slot]! else { preconditionFailure("writing a weight") }
            return MutableTensorView(dtype: plan.values[slot].dtype, shape: shapes[slot]!,
                                     bytes: UnsafeMutableRawBufferPointer(start: workspace.base + offset, count: count))
        }

        // 3. compute
        for (index, slot) in plan.inputSlots.enumerated() {
            let target = writeView(slot).bytes
            inputs[index].data.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        for step in plan.steps {
            let aliases = step.op.aliases
            let outputs = step.outputs.enumerated().filter { aliases[$0.offset] == nil }.map { writeView($0.element) }
            step.op.execute(inputs: step.inputs.map { $0.map(readView) }, outputs: outputs, kernels: kernels)
        }
        var results: [String: HostTensor] = [:]
        for (spec, slot) in zip(plan.outputs, plan.outputSlots) {
            let view = readView(slot)
            results[spec.name] = HostTensor(dtype: view.dtype, shape: view.shape, data: Array(view.bytes))
        }
        return results
    }
}
