import EnclaveSealing

extension TDXPlatform {
    /// TDX has no hardware sealing key, so nothing survives a restart: every start is a key release (owner or
    /// broker), and the answer says so. A sealing secret given to the platform (``sealingKey(purpose:)``) is not
    /// used for sealed state: it would itself have to be released to the TD on every start.
    /// - Throws: ``SealedStateError`` `.noSealingKey`, always.
    public func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        throw SealedStateError(.noSealingKey, "TDX has no sealing key; every start is a release (the owner or the key "
            + "broker releases the model key again after verifying this TD's quote)")
    }
}
