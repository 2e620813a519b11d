import EnclaveSealing

extension SNPPlatform {
    /// The SEV-SNP sealed-state key: ``sealingKey(purpose:)`` for `"enclava/v1 sealed state"`, i.e.
    /// `SNP_GET_DERIVED_KEY` with the VCEK as root key and the guest policy, MEASUREMENT and TCB version
    /// (this platform's COMMITTED_TCB at start) selected, at this VMPL, then HKDF-SHA384 with the measurement.
    /// Another chip, another launch measurement, another guest policy (a debug launch) or a firmware update that
    /// moves the committed TCB gives another key. A key for an older TCB is never requested, even though the
    /// firmware would derive one: state sealed under old firmware falls back to a release.
    /// - Throws: ``SealedStateError`` `.policyUnsupported` for `signer`, `.keyUnavailable` without a usable
    ///   `/dev/sev-guest` or when the firmware refuses.
    public func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        guard policy == .measurement else {
            throw PlatformSupport.signerUnsupported(backend, "SEV-SNP derived keys are bound to the launch measurement, "
                + "guest policy and TCB, and Enclava uses no signer identity (ID block) on SEV-SNP")
        }
        do {
            let key = try sealingKey(purpose: SealedStateKey.purpose)
            return try SealedStateKey(key: key, backend: backend, policy: .measurement, binding: measurement,
                                      tcb: committedTCB.bytes)
        } catch {
            throw PlatformSupport.sealedStateKeyFailure(backend, error)
        }
    }
}
