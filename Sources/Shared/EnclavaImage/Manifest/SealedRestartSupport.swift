/// Which backends can restart an image from sealed state, and under which `[keys] seal_to` (DESIGN.md §7). This
/// is the table `enclava inspect` and the README show; each backend's `sealedStateKey(policy:)` in
/// `EnclavePlatform` implements its row, and a test checks that the two agree.
public enum SealedRestartSupport {
    /// The backends in the order they are shown.
    public static let backends = ["sim", "sev-snp", "sgx", "tdx"]

    /// One backend's answer for one `seal_to`.
    public enum Answer: Sendable, Equatable {
        /// Sealed restart works: the key comes from `keySource`.
        case available(keySource: String)
        /// The backend has a sealing key but cannot bind it to this `seal_to`.
        case policyUnsupported(reason: String)
        /// The backend has no sealing key: every start is a release.
        case noSealingKey(reason: String)

        /// True for ``available(keySource:)``.
        public var isAvailable: Bool {
            if case .available = self { return true }
            return false
        }

        /// The key source or the reason, in a few words.
        public var note: String {
            switch self {
            case .available(let source): source
            case .policyUnsupported(let reason), .noSealingKey(let reason): reason
            }
        }
    }

    /// The answer of `backend` for `sealTo`; nil for a backend name not in ``backends``.
    public static func answer(backend: String, sealTo: Manifest.SealTo) -> Answer? {
        switch (backend, sealTo) {
        case ("sim", .measurement):
            .available(keySource: "simulated platform secret + runtime SHA-384 + simulated TCB")
        case ("sev-snp", .measurement):
            .available(keySource: "SNP_GET_DERIVED_KEY: VCEK, measurement, guest policy, committed TCB")
        case ("sgx", .measurement):
            .available(keySource: "Gramine _sgx_mrenclave (MRENCLAVE, CPUSVN, ISVSVN)")
        case ("sgx", .signer):
            .available(keySource: "Gramine _sgx_mrsigner (MRSIGNER, ISVPRODID, CPUSVN, ISVSVN)")
        case ("sim", .signer), ("sev-snp", .signer):
            .policyUnsupported(reason: "seal_to = \"signer\" is SGX only; every start is a release")
        case ("tdx", _):
            .noSealingKey(reason: "TDX has no sealing key; every start is a release")
        default:
            nil
        }
    }
}
