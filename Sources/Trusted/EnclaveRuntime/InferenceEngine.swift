import EnclaveInference

/// What the execution loop runs. ``InferenceModel`` is the production engine; tests supply doubles
/// (a model that blocks, to fill the queue).
public protocol InferenceEngine: Sendable {
    /// Runs the model on named inputs.
    /// - Throws: an error naming the offending input when the inputs do not fit the model.
    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor]
}

extension InferenceModel: InferenceEngine {}
