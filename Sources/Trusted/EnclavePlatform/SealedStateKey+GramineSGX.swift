import EnclavaCrypto
import EnclaveSealing

extension GramineSGXPlatform {
    /// The SGX sealed-state key, from Gramine's EGETKEY pseudo-file chosen by the image's `seal_to`:
    /// `_sgx_mrenclave` (bound to MRENCLAVE) or `_sgx_mrsigner` (bound to MRSIGNER and ISVPRODID: another build of
    /// the same signer opens it), then `HKDF-SHA384(salt "enclava-sgx-sealing-v1", info "enclava/v1 sealed state" ‖
    /// identity)`. EGETKEY mixes in the enclave's CPUSVN and ISVSVN, recorded as the TCB: a microcode update or a
    /// new ISVSVN gives another key. (The platform's `--sgx-sealing-key` choice is for ``sealingKey(purpose:)``;
    /// sealed state follows the image.)
    /// - Throws: ``SealedStateError`` `.keyUnavailable` when Gramine's key file is missing or malformed.
    public func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        let source: GramineAttestation.SealingKey = policy == .signer ? .mrsigner : .mrenclave
        let binding = policy == .signer ? mrSigner + LittleEndian.bytes(isvProdID) : measurement
        do {
            let hardwareKey = try attestation.sealingKey(source)
            let key = try PlatformSupport.purposeKey(from: hardwareKey, salt: Self.sealingSalt, purpose: SealedStateKey.purpose,
                                                     binding: binding)
            return try SealedStateKey(key: key, backend: backend, policy: policy, binding: binding,
                                      tcb: cpuSVN + LittleEndian.bytes(isvSVN))
        } catch {
            throw PlatformSupport.sealedStateKeyFailure(backend, error)
        }
    }
}
