import EnclaveKernels
import EnclaveSealing

/// Runs an ``ExecutionPlan`` for one request.
///
/// 1. Shapes (``RequestPlanner``): every value's shape is computed from the request's input shapes (dynamic
///    dimensions resolve here), small integer values that only depend on shapes are computed too, and
///    everything is checked against the limits. No activation is computed yet.
/// 2. Memory (``MemoryPlanner``): every remaining value gets a place in one sealed workspace, reusing the
///    places of dead values; views (Reshape, Flatten, …) share their input's place. The workspace is mapped
///    once for the request and zeroized and released at the end.
/// 3. Compute: inputs are copied in, each step runs its kernels, outputs are copied out.
struct GraphExecutor {
    let plan: ExecutionPlan
    let weights: WeightStore
    let limits: ModelLimits
    let lockPolicy: MemoryLockPolicy
    let kernels: KernelSet
    /// Where the request's workspace comes from (nil: a fresh one, released at the end).
    var pool: WorkspacePool?
    /// Called after each step with its label and duration, when set.
    var profile: ((String, Double) -> Void)?

    /// Where a value's bytes are during a run.
    /// Where a value's bytes are during a run.
    enum Place {
        case known(UnsafeRawBufferPointer)
        case workspace(offset: Int, byteCount: Int)
    }

    /// Passes 1 and 2 for one set of input shapes: reusable by every request with the same input shapes
    /// when no shape depends on an input's contents (``ExecutionPlan/shapesDependOnlyOnInputShapes``).
    final class Prepared: @unchecked Sendable {
        // @unchecked: immutable after creation; `planned.buffers` keep the known values' memory alive.
        let planned: RequestPlanner.Result
        let places: [Place?]
        let workspaceBytes: Int

        init(planned: RequestPlanner.Result, places: [Place?], workspaceBytes: Int) {
            self.planned = planned
            self.places = places
            self.workspaceBytes = workspaceBytes
        }
    }

    /// Runs the plan. `inputs[i]` is the validated tensor for `plan.inputs[i]`.
    func run(_ inputs: [HostTensor]) throws -> [String: HostTensor] {
        try run(inputs, prepared: prepare(inputs))
    }

    /// Passes 1 (shapes and planned values) and 2 (memory).
    func prepare(_ inputs: [HostTensor]) throws -> Prepared {
        // 1. shapes
        let planned = try RequestPlanner(plan: plan, weights: weights, limits: limits, kernels: kernels).run(inputs: inputs)
        let shapes = planned.shapes

        // 2. memory
        let valueCount = plan.values.count
        var root = Array(0..<valueCount)           // a view's value → the value that owns the bytes
        var lastUse = [Int](repeating: -1, count: valueCount)
        let end = plan.steps.count
        for (index, step) in plan.steps.enumerated() where !planned.precomputed[index] {
            for (output, source) in step.op.aliases {
                if let sourceSlot = step.inputs[source] { root[step.outputs[output]] = root[sourceSlot] }
            }
            for slot in step.inputs.compactMap({ $0 }) { lastUse[root[slot]] = max(lastUse[root[slot]], index) }
        }
        for slot in plan.outputSlots { lastUse[root[slot]] = end }
        var places = [Place?](repeating: nil, count: valueCount)
        for slot in 0..<valueCount { if let known = planned.known[slot] { places[slot] = .known(known) } }
        var memory = MemoryPlanner(limit: limits.maxWorkspaceBytes)
        var dying: [[Int]] = Array(repeating: [], count: end + 1)
        func place(_ slot: Int, at index: Int) throws {
            let bytes = try byteCount(slot, shapes[slot])
            places[slot] = .workspace(offset: try memory.allocate(bytes), byteCount: bytes)
            dying[max(lastUse[slot], index)].append(slot)
        }
        for slot in plan.inputSlots { try place(slot, at: 0) }
        for (index, step) in plan.steps.enumerated() where !planned.precomputed[index] {
            let aliases = step.op.aliases
            for (output, slot) in step.outputs.enumerated() {
                if let source = aliases[output], let sourceSlot = step.inputs[source] {
                    places[slot] = places[sourceSlot]
                } else {
                    try place(slot, at: index)
                }
            }
            for slot in dying[index] {
                if case .workspace(let offset, let count) = places[slot]! { memory.release(offset: offset, bytes: count) }
            }
        }
        return Prepared(planned: planned, places: places, workspaceBytes: memory.highWater)
    }

    /// Pass 3: computes the outputs in a workspace laid out by `prepared` (made for these input shapes).
    func run(_ inputs: [HostTensor], prepared: Prepared) throws -> [String: HostTensor] {
        let shapes = prepared.planned.shapes
        let places = prepared.places
        let planned = prepared.planned
        let workspace = try pool?.acquire(bytes: prepared.workspaceBytes, lockPolicy: lockPolicy)
            ?? SealedBlock(count: prepared.workspaceBytes, lockPolicy: lockPolicy, purpose: "a request's working memory")
        defer { pool?.release(workspace, used: prepared.workspaceBytes) }

        func readView(_ slot: Int) -> TensorView {
            let bytes: UnsafeRawBufferPointer
            switch places[slot]! {
            case .known(let known): bytes = known
            case .workspace(let offset, let count): bytes = UnsafeRawBufferPointer(start: workspace.base + offset, count: count)
            }
            return TensorView(dtype: plan.values[slot].dtype, shape: shapes[slot], bytes: bytes)
        }
        func writeView(_ slot: Int) -> MutableTensorView {
            guard case .workspace(let offset, let count) = places[slot]! else { preconditionFailure("writing a constant") }
            return MutableTensorView(dtype: plan.values[slot].dtype, shape: shapes[slot],
                                     bytes: UnsafeMutableRawBufferPointer(start: workspace.base + offset, count: count))
        }

        // 3. compute
        for (index, slot) in plan.inputSlots.enumerated() {
            let target = writeView(slot).bytes
            inputs[index].data.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        for (index, step) in plan.steps.enumerated() where !planned.precomputed[index] {
            let aliases = step.op.aliases
            let outputs = step.outputs.enumerated().filter { aliases[$0.offset] == nil }.map { writeView($0.element) }
            if let profile {
                let start = ContinuousClock.now
                try step.op.execute(inputs: step.inputs.map { $0.map(readView) }, outputs: outputs, kernels: kernels)
                let elapsed = ContinuousClock.now - start
                profile(step.label, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            } else {
                try step.op.execute(inputs: step.inputs.map { $0.map(readView) }, outputs: outputs, kernels: kernels)
            }
        }
        var results: [String: HostTensor] = [:]
        for (spec, slot) in zip(plan.outputs, plan.outputSlots) {
            let view = readView(slot)
            results[spec.name] = HostTensor(dtype: view.dtype, shape: view.shape, data: TensorBytes(copying: view.bytes))
        }
        return results
    }

    private func byteCount(_ slot: Int, _ shape: [Int]) throws -> Int {
        let dtype = plan.values[slot].dtype
        guard let count = Shape.elementCount(shape), count <= limits.maxTensorElements else {
            throw InferenceError.limit("value '\(plan.values[slot].name)' would have shape \(Shape.text(shape)), more than "
                                       + "\(limits.maxTensorElements) elements (the per-tensor limit); send a smaller batch")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, bytes <= limits.maxWorkspaceBytes else {
            throw InferenceError.limit("this request needs more than \(limits.maxWorkspaceBytes) bytes of working memory; "
                                       + "send a smaller batch")
        }
        return bytes
    }
}
