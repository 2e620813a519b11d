import ArgumentParser
import EnclavaAttestation
import EnclavaClient
import EnclavaWire
import Foundation

extension InferenceInputOptions {
    /// The warning for an enclave whose results carry `memory_unlocked`.
    static let unlockedMemoryWarning = "warning: the enclave reports that its secrets (keys, weights, your data) may be in "
        + "memory that is not locked in RAM and can reach swap (it was started with --allow-unlocked-memory, or locking "
        + "failed); use it for development only"
}

/// `enclava infer`: attest an enclave behind a host bridge and run one encrypted inference.
struct InferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Verify an enclave's evidence against a policy, then run an encrypted inference."
    )

    @Option(help: "The host bridge: HOST:PORT (or unix:PATH).")
    var endpoint: String

    @Option(help: "The attestation policy (JSON) from `enclava policy create`.")
    var policy: String

    @Option(name: .customLong("sim-home"), help: "Simulated platform home, for policies that allow simulation without pinning a root.")
    var simHome: String?

    @Option(help: "TDX/SGX: Intel collateral JSON (dcap-qvl layout) to verify the enclave's quote with, instead of the host's.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "TDX/SGX: a folder of Intel collateral by FMSPC (`enclava collateral import`), used before the host's.")
    var collateralCache: String?

    @Option(help: "Seconds to wait for each call.")
    var timeout: Int = 60

    @Option(help: "The model to call on a bridge serving several (its image's [image] name); the enclave must run the image the policy pins for that name. Default: the bridge's only model.")
    var model: String?

    @OptionGroup var options: InferenceInputOptions

    mutating func run() async throws {
        let target = try TTRPCEndpoint(parsing: endpoint)
        let loaded = try AttestationPolicy.load(path: policy)
        let inputs = try options.tensors()
        let texts = try options.allTexts()
        let intel = try EvidenceFileFormat.intelCollateral(file: collateral, cache: collateralCache)
        let verifier = try Self.verifier(for: loaded, simHome: simHome, intelCollateral: intel)
        let session = try await ConfidentialSession.connect(to: target, policy: loaded, verifier: verifier,
                                                            timeout: .seconds(max(1, timeout)), model: model)
        do {
            let outputs = try await session.infer(inputs, texts: texts)
            await session.close()
            options.report(outputs: outputs, evidence: session.verifiedEvidence,
                           memoryUnlocked: await session.enclaveReportsUnlockedMemory)
        } catch {
            await session.close()
            throw error
        }
    }

    /// The verifier for a policy: a policy that allows simulation without pinning a root trusts the local one.
    static func verifier(
        for policy: AttestationPolicy, simHome: String?, intelCollateral: IntelCollateralSource = IntelCollateralSource()
    ) throws -> EvidenceVerifier {
        try ConfidentialSession.verifier(for: policy, simHome: CLI.simHome(simHome), intelCollateral: intelCollateral)
    }
}
