import EnclaveInference

/// What the execution loop runs. ``InferenceModel`` is the production engine; tests supply doubles
/// (a model that blocks, to fill the queue).
public protocol InferenceEngine: Sendable {
    /// Runs the model on named inputs.
    /// - Throws: an error naming the offending input when the inputs do not fit the model.
    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor]

    /// Whether rows of different sessions may share one ``run(_:)`` (DESIGN.md §5). Engines that offer no
    /// proof get ``BatchRowIndependence/unanalyzed``, so each run then holds one session's rows.
    var rowIndependence: BatchRowIndependence { get }
}

extension InferenceEngine {
    /// No proof: one session per run.
    public var rowIndependence: BatchRowIndependence { .unanalyzed }
}

extension InferenceModel: InferenceEngine {}
