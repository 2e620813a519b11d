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

    @Option(name: .customLong("shutdown-grace"), help: "On Ctrl-C or SIGTERM, seconds the request gets to finish before the enclave is stopped (0…600); a second Ctrl-C stops at once.")
    var shutdownGrace: Int = 5

    @OptionGroup var options: InferenceInputOptions

    mutating func run() async throws {
        guard sim else { throw CLIError("only --sim runs locally for now; pass --sim") }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard (0...600).contains(shutdownGrace) else { throw CLIError("--shutdown-grace must be 0…600 seconds, got \(shutdownGrace)") }
        try CLI.requireReadableFile(image, what: "image")
        let opened = try EnclaveImage.open(path: image)
        guard opened.keyWrappings.contains(where: { $0.kind == "sealed" }) else {
            throw CLIError("\(image): its model key is held by its owner, so the enclave would wait for it; `enclava run` "
                           + "needs an image packaged with --seal-for sim. Run this one with `enclava serve` and release its "
                           + "key with `enclava provision`")
        }
        let inputs = try options.tensors()
        let texts = try options.allTexts()
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
        configuration.maxInFlightBytesPerConnection = max(configuration.maxInFlightBytesPerConnection,
                                                          2 * (configuration.maxFrameBytes + WireLimits.headerByteCount))
        configuration.restartBackoff.maxConsecutiveFailures = 1
        configuration.shutdownGracePeriod = .seconds(shutdownGrace)
        let bridge = HostBridgeServer(configuration: configuration)
        // The enclave stops with `run` on every path: its standard input is a lifeline pipe (`--exit-with-parent`),
        // so even a `kill -9` of `run` stops it and removes its sockets. Ctrl-C or SIGTERM stop it gracefully
        // within --shutdown-grace; a second one exits at once.
        let interrupts = InterruptCounter()
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { [grace = shutdownGrace] signal in
            if interrupts.next() > 1 {
                CLI.note("enclava run: stopping now")
                Foundation.exit(128 + signal)
            }
            CLI.note("enclava run: stopping the enclave (up to \(grace) s; press Ctrl-C again to stop at once)")
            Task {
                await bridge.shutdown()
                Foundation.exit(128 + signal)
            }
        }
        defer { signals.cancel() }
        try await bridge.start()
        do {
            guard let port = bridge.listeningPort else { throw CLIError("the local bridge did not report its port") }
            let session = try await ConfidentialSession.connect(to: .tcp(host: "127.0.0.1", port: port), policy: policy)
            let outputs: [String: Enclava_V1_Tensor]
            do {
                outputs = try await session.infer(inputs, texts: texts)
            } catch {
                await session.close()
                throw error
            }
            await session.close()
            await bridge.shutdown()
            options.report(outputs: outputs, evidence: session.verifiedEvidence,
                           memoryUnlocked: await session.enclaveReportsUnlockedMemory)
        } catch {
            await bridge.shutdown()
            throw error
        }
    }
}

/// Counts SIGINT/SIGTERM deliveries to `enclava run` (the first stops gracefully, the second at once).
private final class InterruptCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// Records one more signal and returns how many there have been.
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
}
