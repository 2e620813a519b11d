import EnclaveSealing

extension TEEPlatform {
    /// Platforms without a sealed-state key of their own (test doubles, a backend not yet taught sealing): a
    /// clear `.noSealingKey` answer, so every start is a release — never a silent skip.
    public func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        throw SealedStateError(.noSealingKey, "the \(backend) platform derives no sealed-state key; every start is a key release")
    }
}

extension PlatformSupport {
    /// `seal_to = "signer"` on a platform that binds keys to the measurement only.
    static func signerUnsupported(_ backend: String, _ why: String) -> SealedStateError {
        SealedStateError(.policyUnsupported, "seal_to = \"signer\" cannot be honoured on \(backend): \(why); package the "
            + "image with seal_to = \"measurement\" (a rebuilt runtime then gets the key released again)")
    }

    /// A platform failure while deriving a sealed-state key, as ``SealedStateError`` `.keyUnavailable`.
    static func sealedStateKeyFailure(_ backend: String, _ error: any Error) -> SealedStateError {
        if let error = error as? SealedStateError { return error }
        return SealedStateError(.keyUnavailable, "the \(backend) sealing key is not available (\(error)); this start is "
            + "a key release")
    }
}
