extension ConfidentialSession {
    /// Checks that this session's enclave serves the model named `model`: the one place a model name is checked
    /// (``runInference(model:inputs:)``, ``runInference(model:texts:)`` and the C ABI's `model` at open all call it).
    ///
    /// A session opened for a model by name (``connect(to:policy:verifier:at:timeout:model:)``, what the C ABI and
    /// Python do) was routed to that model and checked against the policy's entry for it before it was opened:
    /// `model` must be that name. A session opened without a name (a single-image bridge) compares `model` with the
    /// `[image] name` the enclave reported, which is display text the host relays; what such a session trusts is the
    /// manifest digest the policy pins.
    /// - Throws: ``ClientError`` `unknownModel`, naming the model served.
    public nonisolated func checkModel(_ model: String) throws {
        let served = verifiedModel ?? modelName
        guard model == served else {
            throw ClientError(.unknownModel, "this session serves the model `\(served)`, not `\(model)`; "
                              + "pass model=\"\(served)\" or open a session for `\(model)`",
                              reason: "UNKNOWN_MODEL")
        }
    }
}
