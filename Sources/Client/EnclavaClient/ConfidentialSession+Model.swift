extension ConfidentialSession {
    /// Checks that this session's enclave serves the model named `model`: the one place a model name is checked
    /// (``runInference(model:inputs:)``, ``runInference(model:texts:)`` and the C ABI's `model` at open all call it).
    ///
    /// Today a bridge serves one image, and the name compared is the `[image] name` the enclave reported with its
    /// evidence (``modelName``). That name is display text the host relays, not a verified claim: what the
    /// session trusts is the manifest digest the policy pins. The check is there so that a caller naming the wrong
    /// model gets a clear error rather than another model's answer. When bridges route by name, this is where the
    /// name is checked against the policy's entry for it.
    /// - Throws: ``ClientError`` `unknownModel`, naming the model served.
    public nonisolated func checkModel(_ model: String) throws {
        guard model == modelName else {
            throw ClientError(.unknownModel, "this enclave serves the model `\(modelName)`, not `\(model)`; "
                              + "pass model=\"\(modelName)\" or connect to the bridge that serves `\(model)`",
                              reason: "UNKNOWN_MODEL")
        }
    }
}
