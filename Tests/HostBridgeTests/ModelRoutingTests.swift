import EnclavaWire
import Foundation
import HostBridge
import Logging
import NIOCore
import Testing

/// An in-process enclave that says which model it is: Health's `model_name` and GetEvidence's manifest digest
/// carry its name, so a test sees which enclave answered a routed call.
struct NamedStandIn: TTRPCServiceHandler {
    let name: String

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        switch EnclaveService.Method(rawValue: method) {
        case .health:
            var response = Enclava_V1_HealthResponse()
            response.state = .ready
            response.modelName = self.name
            return Result { try response.serializedBytes() }.mapError { _ in RPCError(.internal, reason: "X", message: "x") }
        case .getEvidence:
            var response = Enclava_V1_GetEvidenceResponse()
            response.manifestDigest = Data(self.name.utf8)
            return Result { try response.serializedBytes() }.mapError { _ in RPCError(.internal, reason: "X", message: "x") }
        default:
            return .failure(RPCError(.unimplemented, reason: "NOT_IN_STAND_IN", message: method))
        }
    }
}

/// A bridge serving two stand-in enclaves, `fraud-detector` and `minilm-embeddings`, routed by name.
struct TwoModelBridge {
    let servers: [TTRPCServer]
    let bridge: HostBridgeServer
    let port: Int

    static let names = ["fraud-detector", "minilm-embeddings"]

    static func start() async throws -> TwoModelBridge {
        var servers: [TTRPCServer] = []
        var routes: [HostBridgeConfiguration.ModelRoute] = []
        for name in names {
            let path = temporaryPath("model")
            servers.append(try await TTRPCServer.bind(unixPath: path, handler: NamedStandIn(name: name)))
            routes.append(.init(name: name, enclave: .attach(socketPath: path)))
        }
        var configuration = HostBridgeConfiguration(listenPort: 0, models: routes)
        configuration.handleSignals = false
        configuration.shutdownGracePeriod = .seconds(5)
        let bridge = HostBridgeServer(configuration: configuration, logger: Logger(label: "enclava.host-bridge.test"))
        try await bridge.start()
        guard let port = bridge.listeningPort else { throw CancellationError() }
        return TwoModelBridge(servers: servers, bridge: bridge, port: port)
    }

    func client(model: String?) async throws -> TTRPCClient {
        try await TTRPCClient.connect(to: .tcp("127.0.0.1", self.port), metadata: model.map { [ModelRouter.metadataKey: $0] } ?? [:])
    }

    func stop() async {
        await self.bridge.shutdown()
        for server in self.servers { await server.close() }
    }
}

@Suite struct ModelRoutingTests {
    @Test func eachCallGoesToTheEnclaveItsModelNames() async throws {
        let served = try await TwoModelBridge.start()
        for name in TwoModelBridge.names {
            let client = try await served.client(model: name)
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.modelName == name)
            let evidence = try await client.call(.getEvidence, Enclava_V1_GetEvidenceRequest(), as: Enclava_V1_GetEvidenceResponse.self)
            #expect(String(decoding: evidence.manifestDigest, as: UTF8.self) == name)
            await client.close()
        }
        await served.stop()
    }

    @Test func anUnknownNameIsNotFoundAndListsTheServedModels() async throws {
        let served = try await TwoModelBridge.start()
        let client = try await served.client(model: "gpt-5")
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.call(.getEvidence, Enclava_V1_GetEvidenceRequest(), as: Enclava_V1_GetEvidenceResponse.self)
        }
        #expect(error?.code == .notFound)
        #expect(error?.reason == BridgeReason.unknownModel)
        #expect(error?.message.contains("fraud-detector, minilm-embeddings") == true)
        #expect(error?.metadata["models"] == "fraud-detector, minilm-embeddings")
        await client.close()
        await served.stop()
    }

    @Test func anUnnamedCallToSeveralModelsIsRefusedButHealthIsSummarized() async throws {
        let served = try await TwoModelBridge.start()
        let client = try await served.client(model: nil)
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.call(.getEvidence, Enclava_V1_GetEvidenceRequest(), as: Enclava_V1_GetEvidenceResponse.self)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.reason == BridgeReason.modelRequired)
        #expect(error?.message.contains("fraud-detector, minilm-embeddings") == true)
        let summary = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        #expect(summary.state == .ready)
        #expect(summary.modelName == "fraud-detector,minilm-embeddings")
        #expect(summary.message.contains("minilm-embeddings: serving"))
        await client.close()
        await served.stop()
    }

    @Test func twoEnclavesOfOneNameAreRefusedAtStart() async throws {
        let configuration = HostBridgeConfiguration(listenPort: 0, models: [
            .init(name: "same", enclave: .attach(socketPath: "/nonexistent/a")),
            .init(name: "same", enclave: .attach(socketPath: "/nonexistent/b")),
        ])
        let error = #expect(throws: HostBridgeError.self) { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("two enclaves are named `same`") == true)
    }
}

/// ``ModelRouter`` alone, without I/O.
@Suite struct ModelRouterTests {
    func request(_ method: EnclaveService.Method, model: [String] = []) -> Ttrpc_Request {
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = method.rawValue
        request.metadata = model.map { value in
            var pair = Ttrpc_KeyValue()
            pair.key = ModelRouter.metadataKey
            pair.value = value
            return pair
        }
        return request
    }

    func refusal(_ decision: ModelRouter.Decision) -> RPCError? {
        if case .refuse(let error) = decision { return error }
        return nil
    }

    @Test func aSingleImageBridgeNeedsNoName() {
        let router = ModelRouter(names: ["fraud-detector"])
        guard case .enclave(0) = router.route(request(.infer)) else { Issue.record("not routed to the only enclave"); return }
        #expect(refusal(router.route(request(.infer, model: ["other"])))?.reason == BridgeReason.unknownModel)
    }

    @Test func anUnnamedAttachedEnclaveTakesAnyName() {
        let router = ModelRouter(names: [nil])
        guard case .enclave(0) = router.route(request(.infer, model: ["anything"])) else { Issue.record("not routed"); return }
    }

    @Test func namesPickTheirEnclave() {
        let router = ModelRouter(names: ["a", "b", "c"])
        guard case .enclave(2) = router.route(request(.openSession, model: ["c"])) else { Issue.record("not routed to c"); return }
        guard case .healthSummary = router.route(request(.health)) else { Issue.record("no summary"); return }
        #expect(refusal(router.route(request(.infer)))?.reason == BridgeReason.modelRequired)
    }

    @Test(arguments: [["a", "b"], [String(repeating: "x", count: ModelRouter.maxNameBytes + 1)]])
    func aNameGivenTwiceOrTooLongIsMalformed(values: [String]) {
        let router = ModelRouter(names: ["a", "b"])
        let error = refusal(router.route(request(.infer, model: values)))
        #expect(error?.code == .invalidArgument)
        #expect(error?.reason == BridgeReason.malformedModelName)
    }
}
