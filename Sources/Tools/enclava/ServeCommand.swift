import ArgumentParser
import EnclavaAttestation
import EnclavaImage
import EnclavaWire
import Foundation
import HostBridge
import Logging

/// `enclava serve`: the untrusted host bridge. Launches the enclave and relays ciphertext.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Launch an enclave from an image and relay client connections to it (host bridge).",
        discussion: "The bridge never holds a key: it relays ttrpc frames and sees only ciphertext. SIGTERM or SIGINT stops it gracefully."
    )

    @Option(name: .customLong("image"), help: "The signed enclave image (without --enclave: the image to launch; with it: optional, for its frame limit and name). Repeat it to serve several models, one enclave each, which clients pick by the image's [image] name (`--model NAME`).")
    var images: [String] = []

    /// The first (or only) image.
    var image: String? { images.first }

    @Option(help: "Attach to an enclave launched by someone else (nitro-cli, QEMU, libvirt, Kata, Firecracker) instead of launching one: vsock:CID:PORT, hvsock:UDS_PATH:PORT (Firecracker / Cloud Hypervisor hybrid vsock) or unix:PATH. It is followed through restarts. Or ocall:LIB: load the enclave library (libEnclavaEnclave.so) into this process with --image and relay through its ecall edge.")
    var enclave: String?

    @Option(name: .customLong("connect-timeout"), help: "With --enclave: seconds one connection to the enclave may take (hvsock retries a guest that is not listening yet within it).")
    var connectTimeout: Int = 30

    @Option(help: "The TEE backend: sim (hardware backends arrive with the next issues).")
    var backend: String = "sim"

    @Option(name: .customLong("sim-format"), help: "With --backend sim: the evidence the simulated enclave produces: snp (SEV-SNP report), tdx (TDX quote v4) or sgx (SGX DCAP quote v3).")
    var simFormat: String = "snp"

    @Option(help: "Where clients connect: HOST:PORT.")
    var listen: String

    @Option(help: "The enclava-runtime executable (default: the one beside enclava).")
    var runtime: String?

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Option(name: .customLong("ready-timeout"), help: "Seconds to wait for the enclave to report ready.")
    var readyTimeout: Int = 60

    @Option(name: .customLong("shutdown-grace"), help: "On SIGTERM/SIGINT, seconds in-flight requests get to finish before the enclave is stopped (0…600).")
    var shutdownGrace: Int = 10

    @Option(name: .customLong("max-connections"), help: "Client connections open at once; one more is closed at once, with a log line.")
    var maxConnections: Int = 256

    @Option(name: .customLong("idle-timeout"), help: "Seconds a client connection may stay open with no call in flight and no bytes either way before it is closed.")
    var idleTimeout: Int = 300

    @Option(name: .customLong("max-inflight-bytes"), help: "Request bytes one client connection may have relayed and unanswered; a request over it is refused with RESOURCE_EXHAUSTED (at least the image's max_frame_bytes + 10).")
    var maxInflightBytes: Int = 64 << 20

    @Option(name: .customLong("max-queued-requests"), help: "Requests of one client connection held while the bridge (re)connects it to the enclave; one more is refused with UNAVAILABLE.")
    var maxQueuedRequests: Int = 64

    @Option(name: .customLong("record-traffic"), help: "Append every relayed byte, both directions, to this file (for audits and tests).")
    var recordTraffic: String?

    @Option(name: .customLong("signer-fingerprint"), help: "Launch only an image signed by the key with this SHA-256 fingerprint (64 hex digits, as `enclava inspect` prints); the enclave checks it again.")
    var signerFingerprint: String?

    @Option(name: .customLong("state-dir"), help: "Keep each image's sealed state here (created 0700): after a key release the enclave leaves the model key sealed to its platform, and the next start opens it with no owner or broker (sealed restart).")
    var stateDir: String?

    @Option(name: .customLong("key-broker"), help: "The key broker (HOST:PORT) the enclave may reach: its connections are forwarded to this one address only (`enclava keybroker serve`).")
    var keyBroker: String?

    @Option(name: .customLong("key-broker-port"), help: "With --enclave and --key-broker: the host vsock port the enclave dials for its broker (its runtime's --key-broker vsock:2:PORT). Its connections arrive on UDS_PATH_PORT (hvsock:, unix:) or on that vsock port from the enclave's CID only (vsock:).")
    var keyBrokerPort: UInt32 = 1025

    @Flag(name: .customLong("allow-unlocked-memory"), help: "Development only: run even if sealed memory cannot be locked in RAM.")
    var allowUnlockedMemory = false

    @Flag(name: .customLong("log-requests"), help: "Log one line per call: client, method, bytes each way, status, milliseconds (never payload data).")
    var logRequests = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    mutating func run() async throws {
        guard backend == "sim" else {
            throw CLIError("backend `\(backend)` is not available yet; supported backends: sim")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
        let format: SimulatedPlatform.EvidenceFormat
        do { format = try SimulatedPlatform.EvidenceFormat(parsing: simFormat) } catch {
            throw CLIError("--sim-format `\(simFormat)` is not one of snp, tdx, sgx")
        }
        guard readyTimeout > 0 else { throw CLIError("--ready-timeout must be a positive number of seconds") }
        guard (0...600).contains(shutdownGrace) else { throw CLIError("--shutdown-grace must be 0…600 seconds, got \(shutdownGrace)") }
        guard (1...1_000_000).contains(maxConnections) else {
            throw CLIError("--max-connections must be 1…1000000, got \(maxConnections)")
        }
        guard (1...86_400).contains(idleTimeout) else {
            throw CLIError("--idle-timeout must be 1…86400 seconds, got \(idleTimeout)")
        }
        guard (1...65_536).contains(maxQueuedRequests) else {
            throw CLIError("--max-queued-requests must be 1…65536, got \(maxQueuedRequests)")
        }
        let ocallLibrary = try enclave.flatMap(Self.ocallLibrary)
        if ocallLibrary != nil, images.count > 1 {
            throw CLIError("--enclave ocall: loads one enclave library for one image; serve several images without --enclave")
        }
        let attached = try (ocallLibrary == nil ? enclave : nil).map(Self.attachEndpoint)
        if attached != nil {
            let launchOnly = [("--runtime", runtime != nil), ("--sim-home", simHome != nil), ("--allow-unlocked-memory", allowUnlockedMemory),
                              ("--signer-fingerprint", signerFingerprint != nil), ("--sim-format", simFormat != "snp")]
            if let (flag, _) = launchOnly.first(where: { $0.1 }) {
                throw CLIError("\(flag) applies only when serve launches the enclave; with --enclave the enclave is launched by someone else")
            }
            guard (1...600).contains(connectTimeout) else { throw CLIError("--connect-timeout must be 1…600 seconds, got \(connectTimeout)") }
        } else if image == nil && ocallLibrary == nil {
            throw CLIError("say which enclave to serve: --image X.eimg (launch it) or --enclave ADDRESS (attach to a running one)")
        }
        if let image { try CLI.requireReadableFile(image, what: "image") }
        let opened = try image.map { try EnclaveImage.open(path: $0) }
        let pinnedSigner = try signerFingerprint.map { fingerprint in try opened.map { try CLI.signerFingerprint(fingerprint, image: $0) } } ?? nil
        let runtimePath = attached == nil && ocallLibrary == nil ? try CLI.runtimePath(runtime) : ""
        let endpoint = try TTRPCEndpoint(parsing: listen)
        guard case .tcp(let host, let port) = endpoint else {
            throw CLIError("--listen takes HOST:PORT, e.g. 127.0.0.1:7000")
        }
        if let recordTraffic { try CLI.requireOutputFolder(recordTraffic) }
        let maxFrameBytes = opened?.manifest.runtime.maxFrameBytes ?? WireLimits.defaultMaxFrameBytes
        let oneFrame = maxFrameBytes + WireLimits.headerByteCount
        if stateDir != nil && attached != nil {
            throw CLIError("--state-dir applies only when serve launches the enclave; an attached enclave keeps its sealed state with whoever launched it")
        }
        let stateDirectory = try stateDir.flatMap { path in try opened.map { try SealedStateDirectory(path: path, manifestDigest: $0.manifestDigest) } }
        guard maxInflightBytes >= oneFrame else {
            throw CLIError("--max-inflight-bytes must hold at least one full frame of this image "
                           + "(\(oneFrame) bytes: its max_frame_bytes plus the 10-byte header), got \(maxInflightBytes)")
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var extra = ["--sim-home", CLI.simHome(simHome)]
        if format != .snp { extra += ["--sim-format", format.rawValue] }
        if allowUnlockedMemory { extra.append("--allow-unlocked-memory") }
        let sharedExtra = extra
        if let pinnedSigner { extra += ["--signer-fingerprint", pinnedSigner] }
        if let stateDirectory, let opened, images.count <= 1 {   // several images: each gets its own (modelRoutes)
            extra += ["--sealed-state", "host"]   // the bridge offers and takes it over the control socket
            CLI.note(stateDirectory.note(keys: opened.manifest.keys))
        }
        let broker = try keyBroker.map(Self.keyBrokerAddress)
        guard (1...UInt32.max - 1).contains(keyBrokerPort) else {
            throw CLIError("--key-broker-port must be a vsock port 1…4294967294, got \(keyBrokerPort)")
        }
        if attached == nil, broker == nil, opened?.manifest.keys.release == .broker,
           opened?.keyWrappings.contains(where: { if case .sealed = $0 { true } else { false } }) == false {
            throw CLIError("this image's key is released by a key broker ([keys] release = \"broker\"): give the broker's "
                           + "address with --key-broker HOST:PORT (the enclave reaches that one address only)")
        }
        if broker != nil { extra += ["--key-broker", "unix:\(EnclaveLaunchConfiguration.keyBrokerPlaceholder)"] }
        let enclaveConfiguration: HostBridgeConfiguration.Enclave
        if let ocallLibrary {
            enclaveConfiguration = try ocallConfiguration(library: ocallLibrary, format: format)
        } else if let attached {
            enclaveConfiguration = .attach(endpoint: attached)
        } else {
            let imagePath = URL(fileURLWithPath: image ?? "").standardizedFileURL.path
            enclaveConfiguration = .launch(.runtime(executablePath: runtimePath, imagePath: imagePath, backend: backend,
                                                    extraArguments: extra))
        }
        var configuration = HostBridgeConfiguration(listenHost: host, listenPort: port, enclave: enclaveConfiguration)
        configuration.routes[0].name = opened?.manifest.image.name
        var served = [opened].compactMap { $0 }
        if images.count > 1 {
            let models = try modelRoutes(runtimePath: runtimePath, sharedExtra: sharedExtra + (broker != nil ? ["--key-broker", "unix:\(EnclaveLaunchConfiguration.keyBrokerPlaceholder)"] : []),
                                         attached: attached != nil)
            configuration.routes = models.map(\.route)
            served = models.map(\.image)
        }
        configuration.connectTimeout = .seconds(connectTimeout)
        configuration.readyTimeout = .seconds(readyTimeout)
        configuration.shutdownGracePeriod = .seconds(shutdownGrace)
        configuration.logRequests = logRequests
        configuration.maxFrameBytes = served.map(\.manifest.runtime.maxFrameBytes).max() ?? maxFrameBytes
        configuration.maxConnections = maxConnections
        configuration.idleTimeout = .seconds(idleTimeout)
        configuration.maxInFlightBytesPerConnection = maxInflightBytes
        configuration.maxQueuedRequestsPerConnection = maxQueuedRequests
        // An image whose key its owner releases (`enclava provision`) starts waiting for it: relay to it then too.
        configuration.serveWhileWaitingForKey = true
        if let recordTraffic { configuration.trafficRecorder = try FileTrafficRecorder(path: recordTraffic) }
        configuration.keyBroker = broker
        if images.count <= 1 { configuration.sealedStateFile = stateDirectory?.statePath }   // several: per route
        configuration.keyBrokerVsockPort = keyBrokerPort

        let bridge = HostBridgeServer(configuration: configuration)
        try await bridge.start()
        let address = bridge.listeningPort.map { "\(host):\($0)" } ?? listen
        // The ready line goes to standard output (logs go to standard error), so a script can wait for it.
        let serving = served.isEmpty ? "the enclave"
            : served.map { "\($0.manifest.image.name) \($0.manifest.image.version)" }.joined(separator: ", ")
        let how = attached.map { "attached to \($0)" } ?? ocallLibrary.map { "in-process (ocall:\($0), \(format.rawValue) evidence)" }
            ?? "backend \(backend) (\(format.rawValue) evidence)"
        let waiting: String
        if await !bridge.enclaveStartedWaitingForKey {
            waiting = ""
        } else if let keyBroker, opened?.manifest.keys.release == .broker {
            waiting = "; the enclave is waiting for its model key from the key broker at \(keyBroker)"
        } else {
            waiting = "; the enclave is waiting for its model key: release it with `enclava provision --endpoint \(address) --policy POLICY --owner-key KEY`"
        }
        FileHandle.standardOutput.write(Data("enclava serve: ready on \(address) — \(serving), \(how)\(waiting)\n".utf8))
        try await bridge.run()
        CLI.note("enclava serve: stopped")
    }

    /// Parses `--enclave`: `vsock:CID:PORT` (CID 3 or more), `hvsock:UDS_PATH:PORT` or `unix:PATH`.
    static func attachEndpoint(_ text: String) throws -> TTRPCEndpoint {
        let endpoint: TTRPCEndpoint
        do { endpoint = try TTRPCEndpoint(parsing: text) } catch {
            throw CLIError("--enclave `\(text)` is not vsock:CID:PORT, hvsock:UDS_PATH:PORT or unix:PATH")
        }
        switch endpoint {
        case .vsock(let cid, _) where cid < 3:
            throw CLIError("--enclave \(text): vsock CIDs 0, 1 and 2 are the hypervisor, local loopback and the host itself; "
                           + "an enclave or VM has CID 3 or more (see `nitro-cli describe-enclaves` or QEMU's guest-cid)")
        case .tcp:
            throw CLIError("--enclave takes vsock:CID:PORT, hvsock:UDS_PATH:PORT or unix:PATH; an enclave is never reached over TCP")
        default:
            return endpoint
        }
    }

    /// `--key-broker HOST:PORT`, parsed (TCP only: the broker is a network service).
    static func keyBrokerAddress(_ text: String) throws -> (host: String, port: Int) {
        guard case .tcp(let host, let port) = try? TTRPCEndpoint(parsing: text), port > 0 else {
            throw CLIError("--key-broker takes the broker's HOST:PORT (e.g. 127.0.0.1:7100), got `\(text)`")
        }
        return (host, port)
    }
}
