import EnclaveKernels
import EnclaveSealing

/// An ONNX model loaded for inference inside the enclave.
///
/// Loading decodes the file under ``ModelLimits`` (in C, with protobuf-c, into sealed memory), copies every
/// weight into a sealed, read-only region, checks that every operator and the opset are supported, orders
/// the graph and builds its operators. After `init` returns, the model is immutable: ``run(_:)`` may be
/// called from any number of threads at once, and each call works in its own sealed workspace.
///
/// Supported: default-domain opsets 13…28; float32 compute with int64, int32 and bool tensors for shapes,
/// indices and masks; numpy broadcasting; dynamic dimensions resolved per request. The operators are those of
/// ``supportedOperators`` — what torch, skl2onnx and optimum export for transformer encoders (MatMul,
/// Gemm, LayerNormalization, Softmax, Gather, Reshape, Transpose, Slice, Concat, Where, Expand, Cast, Range,
/// comparisons, reductions, …). Shape arithmetic over constants is folded at load time; small integer values
/// that depend only on the request's shapes are computed before the activations (see `RequestPlanner`);
/// GELU and masked-softmax patterns are fused; constant MatMul weights are packed once for the GEMM kernel.
public final class InferenceModel: Sendable {
    private let plan: ExecutionPlan
    private let weights: WeightStore
    let workspaces = WorkspacePool()
    private let preparedRuns = PreparedRunCache()
    /// The limits the model was loaded with; requests are held to them too.
    public let limits: ModelLimits
    /// How sealed memory treats `mlock` failures.
    public let memoryLockPolicy: MemoryLockPolicy

    /// The default-domain ONNX operators this executor runs, sorted (for tools that check a model before
    /// packaging it; loading lists the missing ones too).
    public static var supportedOperators: [String] { OperatorRegistry.supported.sorted() }

    /// The default-domain ONNX opset versions this executor runs.
    public static var supportedOpsets: ClosedRange<Int64> { OperatorRegistry.opsetRange }

    /// The inputs a request must supply, in the model's order.
    public var inputs: [TensorSpec] { plan.inputs }
    /// The outputs ``run(_:)`` returns, in the model's order.
    public var outputs: [TensorSpec] { plan.outputs }
    /// The default-domain ONNX opset the model imports.
    public var opsetVersion: Int { Int(plan.opset) }
    /// Bytes of sealed memory the weights occupy.
    public var weightByteCount: Int { weights.byteCount }
    /// Whether the rows of different requests may share one run: the verdict of the load-time analysis of
    /// the planned graph (DESIGN.md §5), with the step that breaks the proof when it fails.
    public let rowIndependence: BatchRowIndependence

    /// Loads a model.
    /// - Parameters:
    ///   - bytes: the ONNX file (for example decrypted into a `SealedRegion`); read only during the call.
    ///   - limits: size limits for the file and for each request.
    ///   - memoryLockPolicy: `.required` (production) refuses to run when sealed memory cannot be locked;
    ///     `.allowUnlocked` is for development runs with a small `RLIMIT_MEMLOCK`.
    ///   - threads: threads the large products (the model's weight matrices) are split across, 1…64
    ///     (the manifest's `[runtime] threads`).
    /// - Throws: ``InferenceError``: `malformedModel`, `unsupportedOperator` (listing every missing op),
    ///   `unsupportedOpset`, `unsupportedDataType` or `resourceLimit` (including sealed memory that cannot be locked).
    public convenience init(onnx bytes: UnsafeRawBufferPointer, limits: ModelLimits = ModelLimits(),
                            memoryLockPolicy: MemoryLockPolicy = .required, threads: Int = 1) throws {
        let (plan, weights) = try Self.load(bytes, limits: limits, memoryLockPolicy: memoryLockPolicy, threads: threads)
        self.init(plan: plan, weights: weights, limits: limits, memoryLockPolicy: memoryLockPolicy)
    }

    /// Loads a model from bytes in an array (tests, tools). Prefer the `UnsafeRawBufferPointer` form for
    /// decrypted models, so the plaintext never sits in an ordinary array.
    /// - Throws: as ``init(onnx:limits:memoryLockPolicy:)-(UnsafeRawBufferPointer,_,_)``.
    public convenience init(onnx bytes: [UInt8], limits: ModelLimits = ModelLimits(),
                            memoryLockPolicy: MemoryLockPolicy = .required, threads: Int = 1) throws {
        let (plan, weights) = try bytes.withUnsafeBytes {
            try Self.load($0, limits: limits, memoryLockPolicy: memoryLockPolicy, threads: threads)
        }
        self.init(plan: plan, weights: weights, limits: limits, memoryLockPolicy: memoryLockPolicy)
    }

    /// Loads a model from a decrypted file in sealed memory, taking the region over: when the layout allows,
    /// the weights are moved into place inside it and the rest of it is zeroed, so the region becomes the
    /// weight store; otherwise the weights are copied out and the region is zeroized and released before
    /// the weight products are packed. Either way the file and a second copy of the weights are not kept
    /// in memory together longer than the copy.
    ///
    /// When the model uses operators or an opset Enclava does not run, the error lists everything that is
    /// missing (``ModelSupport/unsupportedError(_:)``), not only the first problem.
    /// - Throws: as ``init(onnx:limits:memoryLockPolicy:)-(UnsafeRawBufferPointer,_,_)``.
    public convenience init(onnx file: consuming SealedRegion, limits: ModelLimits = ModelLimits(),
                            memoryLockPolicy: MemoryLockPolicy = .required, threads: Int = 1) throws {
        guard (1...64).contains(threads) else {
            throw InferenceError(.invalidArgument, "threads must be 1…64, got \(threads)")
        }
        let (graph, weights) = try Self.decode(file: SealedBlock(adopting: file), limits: limits,
                                               memoryLockPolicy: memoryLockPolicy)
        let plan = try Self.prepare(graph, weights: weights, limits: limits, memoryLockPolicy: memoryLockPolicy, threads: threads)
        self.init(plan: plan, weights: weights, limits: limits, memoryLockPolicy: memoryLockPolicy)
    }

    /// Decodes a file in sealed memory; unless the weights were moved into it, the file's block is released
    /// (zeroized) when this returns.
    private static func decode(file: SealedBlock, limits: ModelLimits,
                               memoryLockPolicy: MemoryLockPolicy) throws -> (ModelGraph, WeightStore) {
        var statistics = OnnxModelDecoder.Statistics()
        do {
            return try OnnxModelDecoder.decode(file: file, limits: limits, lockPolicy: memoryLockPolicy, statistics: &statistics)
        } catch let error as InferenceError where error.code == .unsupportedOpset || error.code == .unsupportedOperator {
            let summary = try? ModelSupport.summary(onnx: file.bytes, limits: limits, memoryLockPolicy: memoryLockPolicy)
            throw summary.flatMap(ModelSupport.unsupportedError) ?? error
        }
    }

    private init(plan: ExecutionPlan, weights: WeightStore, limits: ModelLimits, memoryLockPolicy: MemoryLockPolicy) {
        self.plan = plan
        self.weights = weights
        self.rowIndependence = BatchRowAnalysis.verdict(plan: plan, weights: weights)
        self.limits = limits
        self.memoryLockPolicy = memoryLockPolicy
    }

    private static func load(_ bytes: UnsafeRawBufferPointer, limits: ModelLimits,
                             memoryLockPolicy: MemoryLockPolicy, threads: Int) throws -> (ExecutionPlan, WeightStore) {
        guard (1...64).contains(threads) else {
            throw InferenceError(.invalidArgument, "threads must be 1…64, got \(threads)")
        }
        let (graph, weights) = try OnnxModelDecoder.decode(bytes, limits: limits, lockPolicy: memoryLockPolicy)
        return (try prepare(graph, weights: weights, limits: limits, memoryLockPolicy: memoryLockPolicy, threads: threads), weights)
    }

    /// Plans a decoded graph, fuses attention and packs the weight products.
    private static func prepare(_ graph: ModelGraph, weights: WeightStore, limits: ModelLimits,
                                memoryLockPolicy: MemoryLockPolicy, threads: Int) throws -> ExecutionPlan {
        var plan = try GraphPlanner.plan(graph, weights: weights, limits: limits)
        AttentionFuser.fuse(&plan, weights: weights, threads: threads)
        try WeightPacker.pack(&plan, weights: weights, lockPolicy: memoryLockPolicy, threads: threads)
        return plan
    }

    /// Runs the model on one request. Thread-safe.
    /// - Parameter inputs: one tensor per entry of ``inputs``, by name.
    /// - Returns: one tensor per entry of ``outputs``, by name.
    /// - Throws: ``InferenceError`` `invalidArgument` naming the input (unknown or missing name, wrong dtype,
    ///   rank, dimension or byte count, too many elements) before anything is allocated; `resourceLimit` when
    ///   intermediate values or the workspace would exceed the limits.
    public func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        try run(inputs, profile: nil)
    }

    /// ``run(_:)``, calling `profile(opType, seconds)` after each step (benchmarks and profiling in this package).
    package func run(_ inputs: [String: HostTensor], profile: ((String, Double) -> Void)?) throws -> [String: HostTensor] {
        let ordered = try InputValidator(specs: plan.inputs, limits: limits).validate(inputs)
        var executor = GraphExecutor(plan: plan, weights: weights, limits: limits, lockPolicy: memoryLockPolicy,
                                     kernels: .selected)
        executor.profile = profile
        executor.pool = workspaces
        guard plan.shapesDependOnlyOnInputShapes else { return try executor.run(ordered) }
        let shapes = ordered.map(\.shape)
        if let prepared = preparedRuns.lookup(shapes) {
            return try executor.run(ordered, prepared: prepared)
        }
        let prepared = try executor.prepare(ordered)
        preparedRuns.insert(prepared, for: shapes)
        return try executor.run(ordered, prepared: prepared)
    }
}
