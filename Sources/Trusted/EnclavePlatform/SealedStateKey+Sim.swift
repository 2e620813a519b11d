import EnclavaCrypto
import EnclaveSealing

extension SimPlatform {
    /// Salt of the simulated sealed-state key.
    public static let sealedStateSalt = "enclava-sim-sealed-state-v1"

    /// The simulated sealed-state key: `HKDF-SHA384(ikm: sealingKey(purpose: "enclava/v1 sealed state"), salt
    /// "enclava-sim-sealed-state-v1", info: TCB_VERSION)`, where the sealing key is bound to the simulated platform
    /// secret and this runtime's SHA-384 (``sealingKey(purpose:)``), and the TCB is the simulated platform's. A
    /// rebuilt runtime, another `enclava sim init`, or another simulated TCB gives another key. The simulator has
    /// no signer identity: `seal_to = "signer"` is refused.
    /// - Throws: ``SealedStateError`` `.policyUnsupported` for `signer`, `.keyUnavailable` when the simulated
    ///   platform's secret cannot be read.
    public func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        guard policy == .measurement else {
            throw PlatformSupport.signerUnsupported(backend, "the simulator binds keys to the runtime's measurement only")
        }
        do {
            let tcb = platform.tcb.bytes
            let bound = try sealingKey(purpose: SealedStateKey.purpose)
            let key = try HKDF.deriveKey(.sha384, ikm: bound, salt: Array(Self.sealedStateSalt.utf8), info: tcb, length: 32)
            return try SealedStateKey(key: key, backend: backend, policy: .measurement, binding: measurement, tcb: tcb)
        } catch {
            throw PlatformSupport.sealedStateKeyFailure(backend, error)
        }
    }
}
