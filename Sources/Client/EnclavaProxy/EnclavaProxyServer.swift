import EnclavaClient
import EnclavaWire
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `enclava proxy`: an OpenAI-compatible HTTP server on the client's machine. Every request is encrypted to an
/// enclave that was attested against the policy before the proxy listened (``EnclaveSessionPool``); the HTTP side
/// is plaintext, so it listens on loopback only unless told otherwise.
///
/// * `POST /v1/embeddings`: OpenAI's request and response, for text-pipeline images;
/// * `POST /v1/infer`: the CLI's JSON tensors (``TensorInferRequest``), for tensor models;
/// * `GET /v1/models`: the served model names, OpenAI's list shape.
///
/// Every error is OpenAI's shape, `{"error": {"message", "type", "param", "code"}}` (``ProxyError``).
public final class EnclavaProxyServer: Sendable {
    /// The listen address and bounds.
    public let configuration: ProxyConfiguration
    /// The attested sessions.
    public let pool: EnclaveSessionPool
    private let logger: Logger
    private let gate: RequestGate
    private let running = RunningState()

    /// Creates a proxy; nothing is attested or bound until ``start()``.
    public init(configuration: ProxyConfiguration, pool: EnclaveSessionPool,
                logger: Logger = Logger(label: "enclava.proxy")) {
        self.configuration = configuration
        self.pool = pool
        self.logger = logger
        self.gate = RequestGate(limit: configuration.maxConcurrentRequests)
    }

    /// The port the proxy listens on, once started.
    public var listeningPort: Int? { get async { await running.port } }

    /// Checks the configuration, attests every model's enclave, then listens; returns once listening.
    /// - Throws: ``ProxyError``: `remoteListenRefused`/`invalidConfiguration`, `attestationFailed` or
    ///   `enclaveUnavailable` (the proxy does not start), `bindFailed`.
    public func start() async throws {
        try configuration.validate()
        try await pool.connectAll()
        let application = Application(
            router: self.router(),
            configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort),
                                 serverName: "enclava-proxy"),
            onServerRunning: { [running] channel in await running.listening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let task = Task { try await application.run() }
        await running.started(task)
        let port = await running.waitForPort()
        guard port != nil else {
            let reason: String
            do { try await task.value; reason = "the server stopped" } catch { reason = "\(error)" }
            await pool.closeAll()
            throw ProxyError(.bindFailed, "cannot listen on \(configuration.listenHost):\(configuration.listenPort): \(reason); "
                                 + "pick another --listen address")
        }
    }

    /// Stops listening and closes the sessions.
    public func stop() async {
        await running.stop()
        await pool.closeAll()
    }

    /// Returns when the server has stopped (after ``stop()``).
    public func waitUntilStopped() async {
        await running.waitUntilStopped()
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/embeddings") { [self] request, _ in await self.answer(request) { try await self.embeddings($0) } }
        router.post("/v1/infer") { [self] request, _ in await self.answer(request) { try await self.infer($0) } }
        router.get("/v1/models") { [self] _, _ in
            let names = pool.models
            let data = names.map { ["id": $0, "object": "model", "owned_by": "enclava"] as [String: Any] }
            let body = (try? JSONSerialization.data(withJSONObject: ["object": "list", "data": data])) ?? Data()
            return Self.json(200, Array(body))
        }
        return router
    }

    /// Collects the body (bounded) and runs `handler` under the concurrency bound; any error becomes OpenAI's shape.
    private func answer(_ request: Request, _ handler: @Sendable ([UInt8]) async throws -> [UInt8]) async -> Response {
        guard await gate.enter() else {
            return Self.error(ProxyError(.tooManyRequests, "\(configuration.maxConcurrentRequests) requests are in flight, "
                                             + "the proxy's bound (--max-concurrent); retry shortly"))
        }
        defer { Task { await gate.leave() } }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch {
            return Self.error(ProxyError(.bodyTooLarge, "the request body is over \(configuration.maxBodyBytes) bytes "
                                             + "(--max-body-bytes); send fewer or shorter inputs per request"))
        }
        do {
            return Self.json(200, try await handler(Array(body.readableBytesView)))
        } catch {
            let failure = ProxyError.from(error)
            logger.notice("request refused", metadata: ["path": "\(request.uri.path)", "code": "\(failure.code.rawValue)"])
            return Self.error(failure)
        }
    }

    private func embeddings(_ body: [UInt8]) async throws -> [UInt8] {
        let request = try EmbeddingsRequest(json: body, maxTexts: configuration.maxTextsPerRequest)
        let model = try pool.resolve(request.model)
        let texts = request.input
        let outputs = try await pool.withSession(model: model) { session in try await session.infer([:], texts: texts) }
        guard let tensor = outputs["embeddings"] ?? (outputs.count == 1 ? outputs.values.first : nil),
              let values = TensorJSON.floats(of: tensor), tensor.shape.count == 2, Int(tensor.shape[0]) == texts.count,
              tensor.shape[1] > 0, values.count == texts.count * Int(tensor.shape[1]) else {
            throw ProxyError(.enclaveError, "the model `\(request.model)` did not answer with one float32 embedding per text "
                                 + "(outputs: \(outputs.keys.sorted().joined(separator: ", "))); is it a text-pipeline image? "
                                 + "Tensor models take POST /v1/infer")
        }
        let width = Int(tensor.shape[1])
        let vectors = (0..<texts.count).map { Array(values[$0 * width..<($0 + 1) * width]) }
        return request.responseBody(embeddings: vectors)
    }

    private func infer(_ body: [UInt8]) async throws -> [UInt8] {
        let request = try TensorInferRequest(json: body, maxTexts: configuration.maxTextsPerRequest)
        let model = try pool.resolve(request.model)
        let (inputs, texts) = (request.inputs, request.texts)
        let (outputs, evidence, unlocked) = try await pool.withSession(model: model) { session in
            let outputs = try await session.infer(inputs, texts: texts)
            return (outputs, session.verifiedEvidence, await session.enclaveReportsUnlockedMemory)
        }
        return Array(TensorJSON.inferenceReport(outputs: outputs, evidence: evidence, memoryUnlocked: unlocked).utf8)
    }

    static func json(_ status: Int, _ body: [UInt8]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func error(_ error: ProxyError) -> Response { json(error.httpStatus, error.openAIBody) }
}
