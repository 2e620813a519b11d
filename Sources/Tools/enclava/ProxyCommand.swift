import ArgumentParser
import EnclavaAttestation
import EnclavaClient
import EnclavaProxy
import EnclavaWire
import Foundation

/// `enclava proxy`: an OpenAI-compatible HTTP server on the client's machine that encrypts every request to a
/// verified enclave (`POST /v1/embeddings`, `POST /v1/infer`, `GET /v1/models`).
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Serve an OpenAI-compatible HTTP API on this machine, encrypting every request to a verified enclave.",
        discussion: """
            Attests the enclave of every model the policy pins before it listens (and refuses to start otherwise), \
            then answers POST /v1/embeddings (OpenAI's request and response; text-pipeline images), POST /v1/infer \
            (`enclava infer --json`'s tensors: {"model", "inputs": {NAME: tensor}, "texts"}) and GET /v1/models. \
            A request's `model` picks the image by its [image] name. It listens on loopback only unless \
            --allow-remote is given: what it serves is plaintext. SIGTERM or SIGINT stops it.
            """
    )

    @Option(help: "The host bridge: HOST:PORT (or unix:PATH).")
    var endpoint: String

    @Option(help: "The attestation policy (JSON) from `enclava policy create`; its `models` are the names served.")
    var policy: String

    @Option(help: "Where HTTP clients connect: HOST:PORT (loopback unless --allow-remote).")
    var listen: String = "127.0.0.1:8080"

    @Flag(name: .customLong("allow-remote"), help: "Allow a --listen address other than loopback (anyone who reaches it gets plaintext answers).")
    var allowRemote = false

    @Option(name: .customLong("sim-home"), help: "Simulated platform home, for policies that allow simulation without pinning a root.")
    var simHome: String?

    @Option(help: "TDX/SGX: Intel collateral JSON (dcap-qvl layout) to verify the enclave's quote with, instead of the host's.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "TDX/SGX: a folder of Intel collateral by FMSPC (`enclava collateral import`), used before the host's.")
    var collateralCache: String?

    @Option(help: "Seconds to wait for each call to the enclave.")
    var timeout: Int = 60

    @Option(name: .customLong("max-body-bytes"), help: "The largest HTTP request body; a larger one is answered 413.")
    var maxBodyBytes: Int = 4 << 20

    @Option(name: .customLong("max-concurrent"), help: "HTTP requests handled at once; one more is answered 429.")
    var maxConcurrent: Int = 16

    mutating func run() async throws {
        let target = try TTRPCEndpoint(parsing: endpoint)
        guard case .tcp(let host, let port) = try TTRPCEndpoint(parsing: listen), (1...65535).contains(port) else {
            throw CLIError("--listen takes HOST:PORT, e.g. 127.0.0.1:8080")
        }
        guard (1...600).contains(timeout) else { throw CLIError("--timeout must be 1…600 seconds, got \(timeout)") }
        let loaded = try AttestationPolicy.load(path: policy)
        let intel = try EvidenceFileFormat.intelCollateral(file: collateral, cache: collateralCache)
        let verifier = try InferCommand.verifier(for: loaded, simHome: simHome, intelCollateral: intel)
        var configuration = ProxyConfiguration(listenHost: host, listenPort: port)
        configuration.allowRemote = allowRemote
        configuration.maxBodyBytes = maxBodyBytes
        configuration.maxConcurrentRequests = maxConcurrent
        do { try configuration.validate() } catch let error as ProxyError { throw CLIError(error.message) }
        let callTimeout = Duration.seconds(timeout)
        let names = loaded.pinnedModelNames
        let pool = EnclaveSessionPool(models: names) { model in
            try await ConfidentialSession.connect(to: target, policy: loaded, verifier: verifier, timeout: callTimeout, model: model)
        }
        let server = EnclavaProxyServer(configuration: configuration, pool: pool)
        do {
            try await server.start()
        } catch let error as ProxyError {
            throw CLIError("enclava proxy did not start: \(error.message)")
        }
        let bound = await server.listeningPort ?? port
        let served = names.isEmpty ? "the bridge's model" : "models " + names.joined(separator: ", ")
        FileHandle.standardOutput.write(Data("enclava proxy: ready on http://\(host):\(bound) — \(served), attested at \(endpoint)\n".utf8))
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { Task { await server.stop() } }
            source.resume()
            return source
        }
        await server.waitUntilStopped()
        await server.stop()
        signals.forEach { $0.cancel() }
        CLI.note("enclava proxy: stopped")
    }
}
