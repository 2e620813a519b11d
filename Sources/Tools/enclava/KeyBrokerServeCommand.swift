import ArgumentParser
import EnclavaAttestation
import EnclavaKeyBroker
import EnclavaWire
import Foundation
import HostBridge
import KeyBroker
import Logging

/// `enclava keybroker serve`: the broker's ttrpc server.
struct KeyBrokerServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve key releases to attested enclaves (through their host bridge's --key-broker forwarding).",
        discussion: "Prints a ready line on standard output; logs and one line per decision go to standard error. SIGTERM or SIGINT stops it. Every release and refusal is in the audit log (on disk) before the enclave gets the answer.")

    @Option(help: "The store folder.")
    var store: String

    @Option(help: "Where enclaves (their bridges) connect: HOST:PORT.")
    var listen: String

    @Option(name: .customLong("sim-home"), help: "Simulated platform home whose roots policies that allow simulation without pinning a root trust (default: $ENCLAVA_HOME or ~/.enclava, when it exists).")
    var simHome: String?

    @Option(help: "TDX/SGX: Intel collateral JSON (dcap-qvl layout) to verify quotes with, instead of what the enclave relays.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "TDX/SGX: a folder of Intel collateral by FMSPC (`enclava collateral import`), used before what the enclave relays. Intel evidence with no collateral is refused.")
    var collateralCache: String?

    @Option(name: .customLong("max-connections"), help: "Connections open at once; one more is closed at once, with a log line.")
    var maxConnections: Int = 64

    @Option(name: .customLong("max-connections-per-address"), help: "Connections open at once from one IP address (one host cannot take every slot).")
    var maxConnectionsPerAddress: Int = 16

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may send and receive nothing before it is closed (1…3600).")
    var idleTimeout: Int = 30

    @Option(name: .customLong("challenge-seconds"), help: "Seconds a challenge is accepted (1…600).")
    var challengeSeconds: Int = 60

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    mutating func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError("--log-level `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard (1...100_000).contains(maxConnections) else {
            throw CLIError("--max-connections must be 1…100000, got \(maxConnections)")
        }
        guard (1...maxConnections).contains(maxConnectionsPerAddress) else {
            throw CLIError("--max-connections-per-address must be 1…\(maxConnections) (--max-connections), got \(maxConnectionsPerAddress)")
        }
        guard (1...3600).contains(idleTimeout) else {
            throw CLIError("--idle-timeout must be 1…3600 seconds, got \(idleTimeout)")
        }
        guard (1...600).contains(challengeSeconds) else {
            throw CLIError("--challenge-seconds must be 1…600, got \(challengeSeconds)")
        }
        guard case .tcp(let host, let port) = try TTRPCEndpoint(parsing: listen) else {
            throw CLIError("--listen takes HOST:PORT, e.g. 127.0.0.1:7100")
        }
        let opened = try KeyBrokerStore(directory: store)
        let intel = try EvidenceFileFormat.intelCollateral(file: collateral, cache: collateralCache)
        let roots = (try? SimulatedPlatform.load(home: CLI.simHome(simHome)))?.simulatedRoots() ?? []
        if simHome != nil, roots.isEmpty {
            throw CLIError("--sim-home \(simHome ?? ""): no simulated platform there; run `enclava sim init` first")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let service = KeyBrokerService(
            store: opened, verifier: EvidenceVerifier(simulatedRoots: roots, intelCollateral: intel),
            challenges: ChallengeBook(lifetime: TimeInterval(challengeSeconds), maxOpen: maxConnections * 4,
                                      maxPerConnection: 4))
        let server: TTRPCServer
        do {
            server = try await TTRPCServer.bind(host: host, port: port, handler: service,
                                                maxFrameBytes: KeyBrokerProtocol.maxFrameBytes,
                                                maxInFlightBytes: KeyBrokerProtocol.maxFrameBytes * 2,
                                                maxConnections: maxConnections,
                                                maxConnectionsPerAddress: maxConnectionsPerAddress,
                                                idleTimeout: .seconds(Int64(idleTimeout)))
        } catch {
            throw KeyBrokerError(.serverFailed, "cannot listen on \(listen): \(error)")
        }
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        let watcher = SignalWatcher(signals: [SIGTERM, SIGINT]) { continuation.yield($0) }
        let images = try opened.images().filter { !$0.revoked }.count
        let address = server.port.map { "\(host):\($0)" } ?? listen
        FileHandle.standardOutput.write(Data("enclava keybroker: ready on \(address) — store \(store), \(images) image(s)\n".utf8))
        for await _ in signals { break }
        watcher.cancel()
        await server.close()
        CLI.note("enclava keybroker: stopped")
    }
}
