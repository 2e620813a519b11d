import ArgumentParser
import EnclavaCrypto
import EnclavaAttestation
import EnclavaClient
import EnclavaImage
import EnclavaWire
import Foundation
import HostBridge
import Logging

/// `enclava run --sim`: launch, attest, infer and stop in one command, for model authors.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one encrypted inference on an image locally: launch the enclave, attest it, infer, stop.",
        discussion: "The same path as serve + infer (host bridge on a private loopback port, full attestation and HPKE), with a policy made on the spot that pins this image and this runtime."
    )

    @Flag(help: "Use the simulation backend (required for now).")
    var sim = false

    @Option(help: "The signed enclave image.")
    var image: String

    @Option(help: "The enclava-runtime executable (default: the one beside enclava).")
    var runtime: String?

    @Option(name: .customLong("sim-format"), help: "The evidence the simulated enclave produces and this run verifies: snp, tdx or sgx.")
    var simFormat: String = "snp"

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Flag(name: .customLong("allow-unlocked-memory"), help: "Development only: run even if sealed memory cannot be locked in RAM.")
    var allowUnlockedMemory = false

    @Option(name: .customLong("log-level"), help: "Log level of the bridge and enclave messages (default: error).")
    var logLevel: String = "error"

    @OptionGroup var options: InferenceInputOptions

    mutating func run() async throws {
        guard sim else { throw CLIError("only --sim runs locally for now; pass --sim") }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
        try CLI.requireReadableFile(image, what: "image")
        let opened = try EnclaveImage.open(path: image)
        let inputs = try options.tensors()
        let format: SimulatedPlatform.EvidenceFormat
        do { format = try SimulatedPlatform.EvidenceFormat(parsing: simFormat) } catch {
            throw CLIError("--sim-format `\(simFormat)` is not one of snp, tdx, sgx")
        }
        let runtimePath = try CLI.runtimePath(runtime)
        let home = CLI.simHome(simHome)
        let platform = try SimulatedPlatform.load(home: home)
        var policy = AttestationPolicy(
            allowedPlatforms: [format.platform], allowSimulation: true,
            expectedManifestDigests: [Hex.encode(opened.manifestDigest)],
            simulatedRootFingerprints: [try platform.rootFingerprint(for: format)])
        try format.pin(runtimeAt: runtimePath, in: &policy)  // tdx: MRTD and RTMR0–2

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var extra = ["--sim-home", home]
        if format != .snp { extra += ["--sim-format", format.rawValue] }
        if allowUnlockedMemory { extra.append("--allow-unlocked-memory") }
        var configuration = HostBridgeConfiguration(
            listenHost: "127.0.0.1", listenPort: 0,
            enclave: .launch(.runtime(executablePath: runtimePath,
                                      imagePath: URL(fileURLWithPath: image).standardizedFileURL.path,
                                      extraArguments: extra)))
        configuration.handleSignals = false
        configuration.maxFrameBytes = opened.manifest.runtime.maxFrameBytes
        configuration.restartBackoff.maxConsecutiveFailures = 1
        let bridge = HostBridgeServer(configuration: configuration)
        try await bridge.start()
        do {
            guard let port = bridge.listeningPort else { throw CLIError("the local bridge did not report its port") }
            let session = try await ConfidentialSession.connect(to: .tcp(host: "127.0.0.1", port: port), policy: policy)
            let outputs: [String: Enclava_V1_Tensor]
            do {
                outputs = try await session.infer(inputs, texts: options.texts)
            } catch {
                await session.close()
                throw error
            }
            await session.close()
            await bridge.shutdown()
            options.report(outputs: outputs, evidence: session.verifiedEvidence)
        } catch {
            await bridge.shutdown()
            throw error
        }
    }
}
