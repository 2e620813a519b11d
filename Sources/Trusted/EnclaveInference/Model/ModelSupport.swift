internal import COnnx
import EnclaveSealing

/// Checks a model before it is packaged (`enclava package`) and explains a refusal at load time: whether
/// this executor can run it, and if not, everything that is missing at once — the opset and every
/// operator — rather than the first problem only.
///
/// ``check(onnx:limits:memoryLockPolicy:)`` goes through the same decoding and planning as
/// ``InferenceModel`` (limits, cycles, values nothing defines, external data, element types, declared
/// shapes, operator attributes), without packing the weights for the GEMM kernel.
public enum ModelSupport {
    /// What the model imports and uses, from a pass over its graph that needs no weights.
    public struct Summary: Sendable, Equatable {
        /// The default-domain opset the model imports, or nil when it imports none.
        public let opset: Int64?
        /// Every op type the graph uses, sorted (`"domain:Op"` outside the default domain).
        public let operators: [String]
        /// Op types this executor does not run, sorted.
        public let unsupportedOperators: [String]
        /// Why the opset cannot run, or nil when it can.
        public let opsetProblem: String?

        /// Whether the executor supports the opset and every operator.
        public var isSupported: Bool { unsupportedOperators.isEmpty && opsetProblem == nil }
    }

    /// The model's inputs and outputs, once it has passed ``check(onnx:limits:memoryLockPolicy:)``.
    public struct Report: Sendable, Equatable {
        /// The opset and operators.
        public let summary: Summary
        /// The inputs a request supplies.
        public let inputs: [TensorSpec]
        /// The outputs a run returns.
        public let outputs: [TensorSpec]
        /// Bytes of weights (initializers and constants).
        public let weightByteCount: Int
        /// Whether requests of different sessions may share a run, from the planned graph before fusion
        /// (the runtime decides again on the graph it runs; see ``InferenceModel/rowIndependence``).
        public let rowIndependence: BatchRowIndependence
    }

    /// Reads the opset and the operators of a model.
    /// - Throws: ``InferenceError`` `malformedModel` or `resourceLimit` when the file cannot be decoded
    ///   under `limits`.
    public static func summary(onnx bytes: UnsafeRawBufferPointer, limits: ModelLimits = ModelLimits(),
                               memoryLockPolicy: MemoryLockPolicy = .allowUnlocked) throws -> Summary {
        guard bytes.count <= limits.maxModelBytes else {
            throw InferenceError.limit("the model is \(bytes.count) bytes, more than the limit of \(limits.maxModelBytes) bytes")
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw InferenceError.malformed("the model file is empty") }
        var cLimits = enclava_onnx_limits(
            max_bytes: UInt64(clamping: limits.maxModelBytes), max_decoded_bytes: UInt64(clamping: limits.maxDecodedBytes),
            max_depth: 64, max_nodes: UInt64(clamping: limits.maxNodes), max_initializers: UInt64(clamping: limits.maxInitializers),
            max_dims: UInt64(clamping: limits.maxRank), max_elements: UInt64(clamping: limits.maxTensorElements))
        let arena = SealedDecodeArena(lockPolicy: memoryLockPolicy, expectedBytes: bytes.count)
        var error = enclava_onnx_error()
        return try arena.withAllocator { allocator in
            guard let model = enclava_onnx_model_unpack(base.assumingMemoryBound(to: UInt8.self), bytes.count,
                                                        &cLimits, allocator, &error) else {
                if let failure = arena.failure { throw failure }
                throw OnnxC.error(&error, context: "the ONNX model")
            }
            var opsets: [String: Int64] = [:]
            for opset in try OnnxC.messages(model.pointee.opset_import, model.pointee.n_opset_import, "opset import") {
                let domain = OnnxC.string(opset.pointee.domain)
                opsets[domain == "ai.onnx" ? "" : domain] = opset.pointee.has_version != 0 ? opset.pointee.version : 0
            }
            guard let graph = model.pointee.graph else { throw InferenceError.malformed("the model has no graph") }
            let nodes = try OnnxC.messages(graph.pointee.node, graph.pointee.n_node, "node").map { node in
                GraphNode(name: OnnxC.string(node.pointee.name), opType: OnnxC.string(node.pointee.op_type),
                          domain: OnnxC.string(node.pointee.domain), inputs: [], outputs: [], attributes: [:])
            }
            return summarize(opsets: opsets, nodes: nodes)
        }
    }

    /// Checks that this executor can load the model: everything ``InferenceModel`` checks, except that the
    /// weights are not packed.
    /// - Throws: ``InferenceError``: `unsupportedOperator` or `unsupportedOpset` naming everything that is
    ///   missing (see ``unsupportedError(_:)``), else what loading would throw (`malformedModel`,
    ///   `unsupportedDataType`, `resourceLimit`).
    public static func check(onnx bytes: UnsafeRawBufferPointer, limits: ModelLimits = ModelLimits(),
                             memoryLockPolicy: MemoryLockPolicy = .allowUnlocked) throws -> Report {
        let summary = try summary(onnx: bytes, limits: limits, memoryLockPolicy: memoryLockPolicy)
        if let error = unsupportedError(summary) { throw error }
        let (graph, weights) = try OnnxModelDecoder.decode(bytes, limits: limits, lockPolicy: memoryLockPolicy)
        let plan = try GraphPlanner.plan(graph, weights: weights, limits: limits)
        return Report(summary: summary, inputs: plan.inputs, outputs: plan.outputs, weightByteCount: weights.byteCount,
                      rowIndependence: BatchRowAnalysis.verdict(plan: plan, weights: weights))
    }

    /// One error naming everything the executor lacks for a model, or nil when it lacks nothing.
    /// Its code is `unsupportedOperator` (with ``InferenceError/operators``) when any operator is missing,
    /// else `unsupportedOpset`.
    public static func unsupportedError(_ summary: Summary) -> InferenceError? {
        guard !summary.isSupported else { return nil }
        var parts: [String] = []
        if let problem = summary.opsetProblem { parts.append(problem) }
        if !summary.unsupportedOperators.isEmpty {
            parts.append("operators \(summary.unsupportedOperators.joined(separator: ", "))")
        }
        let range = OperatorRegistry.opsetRange
        let message = "the model needs what Enclava does not support: \(parts.joined(separator: "; ")). Enclava runs the "
            + "default ONNX domain, opsets \(range.lowerBound)…\(range.upperBound), with the operators `enclava package` "
            + "accepts (InferenceModel.supportedOperators); re-export the model with those"
        return InferenceError(summary.unsupportedOperators.isEmpty ? .unsupportedOpset : .unsupportedOperator, message,
                              operators: summary.unsupportedOperators)
    }

    static func summarize(opsets: [String: Int64], nodes: [GraphNode]) -> Summary {
        let range = OperatorRegistry.opsetRange
        let opset = opsets[""]
        var problem: String?
        if let opset, !range.contains(opset) {
            problem = "ONNX opset \(opset) (convert it with onnx.version_converter.convert_version(model, \(range.lowerBound)))"
        } else if opset == nil, !nodes.isEmpty {
            problem = "no import of the default ONNX opset"
        }
        return Summary(opset: opset, operators: Set(nodes.map(\.qualifiedOpType)).sorted(),
                       unsupportedOperators: OperatorRegistry.unsupported(in: nodes), opsetProblem: problem)
    }
}
