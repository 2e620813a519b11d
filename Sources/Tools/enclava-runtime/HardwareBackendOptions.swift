import ArgumentParser
import EnclavePlatform

/// The command-line options of the hardware backends, and the platform they select.
///
/// `--backend sim` (the default) is left to `EnclaveRuntime`, unchanged. `sev-snp`, `tdx`, `sgx` and
/// `auto` (detect the TEE this machine is) build the hardware ``TEEPlatform`` here with
/// ``TEEPlatformFactory`` and hand it to `EnclaveRuntime.start(options:platform:)`; a missing device or
/// interface stops the runtime with the ``PlatformError`` that names it.
struct HardwareBackendOptions: ParsableArguments {
    @Option(name: .customLong("snp-cert-chain"),
            help: "With --backend sev-snp: a PEM file with the VCEK (or VLEK), ASK and ARK, sent when the host provides no certificates.")
    var snpCertificateChain: String?

    @Option(name: .customLong("snp-vmpl"), help: "With --backend sev-snp: the VMPL to request reports at (default: the kernel's).")
    var snpVMPL: UInt32?

    @Option(name: .customLong("sgx-sealing-key"),
            help: "With --backend sgx: the Gramine key sealing keys derive from, mrenclave (default) or mrsigner.")
    var sgxSealingKey: String = "mrenclave"

    /// The hardware platform `backend` names, nil for `sim`.
    /// - Throws: ``PlatformError`` for an unknown backend name or unavailable hardware.
    func platform(backend: String) throws -> (any TEEPlatform)? {
        if backend == TEEBackend.sim.rawValue { return nil }
        guard let sealing = GramineAttestation.SealingKey.allCases.first(where: { $0.rawValue == "_sgx_" + sgxSealingKey }) else {
            throw ValidationError("--sgx-sealing-key must be mrenclave or mrsigner, got `\(sgxSealingKey)`")
        }
        let options = TEEPlatformFactory.Options(snpPrivilegeLevel: snpVMPL, snpCertificateChainPath: snpCertificateChain,
                                                 sgxSealingKey: sealing)
        let chosen = try TEEPlatformFactory.parse(backend) ?? TEEPlatformFactory.detect(options: options)
        guard chosen != .sim else { return nil }
        return try TEEPlatformFactory.make(chosen, options: options)
    }
}
