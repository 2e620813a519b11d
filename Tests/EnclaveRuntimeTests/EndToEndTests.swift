import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaWire
import EnclavePlatform
import Foundation
import SwiftProtobuf
import Testing
@testable import EnclaveRuntime

/// A man in the middle: forwards calls to the real enclave and lets a test rewrite what comes back.
struct TamperingTransport: EnclaveTransport {
    let inner: TTRPCClient
    let rewriteEvidence: @Sendable (inout Enclava_V1_GetEvidenceResponse) -> Void

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: EnclaveService.Method, _ request: Request, as type: Response.Type, timeout: Duration
    ) async throws -> Response {
        let response = try await inner.call(method, request, as: type, timeout: timeout)
        guard var evidence = response as? Enclava_V1_GetEvidenceResponse else { return response }
        rewriteEvidence(&evidence)
        return evidence as! Response
    }

    func close() async { await inner.close() }
}

/// Package → start the runtime in this process → attest → encrypted inference, and every way to attack it.
@Suite(.serialized) struct EndToEndTests {
    let world: EndToEndWorld

    init() throws { world = try EndToEndWorld.shared.get() }

    func connect(_ endpoint: TTRPCEndpoint) async throws -> ConfidentialSession {
        try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
    }

    func expectRemote(_ reason: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(reason)")
        } catch let error as ClientError {
            #expect(error.code == .remote, "\(error)")
            #expect(error.remoteReason == reason, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    func expectClient(_ code: ClientError.Code, _ body: () async throws -> Void) async -> ClientError? {
        do {
            try await body()
            Issue.record("expected \(code)")
        } catch let error as ClientError {
            #expect(error.code == code, "\(error)")
            return error
        } catch {
            Issue.record("unexpected \(error)")
        }
        return nil
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func goldenInferenceMatchesOnnxRuntime(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        #expect(session.verifiedEvidence.isSimulated)
        #expect(session.verifiedEvidence.measurement == world.platform.measurement)
        #expect(session.verifiedEvidence.manifestDigest == world.manifestDigest)
        #expect(session.modelName == "fraud-detector")
        let golden = try Golden.load()
        for _ in 0..<2 {   // two requests in sequence on one session
            let outputs = try await session.infer(golden.inputs)
            for (name, expected) in golden.outputs {
                let actual = try #require(outputs[name])
                #expect(actual.shape == expected.shape)
                let got = try #require(TensorJSON.floats(of: actual))
                let want = try #require(TensorJSON.floats(of: expected))
                #expect(got.count == want.count)
                for (a, b) in zip(got, want) { #expect(abs(a - b) <= 1e-5, "\(name): \(a) vs \(b)") }
            }
        }
        // A wrong input shape is refused by the model, inside the encrypted result, naming the input.
        var bad = golden.inputs
        bad["features"] = TensorJSON.float32(shape: [1, 3], [1, 2, 3])
        let refusal = await expectClient(.modelRejected) { _ = try await session.infer(bad) }
        #expect(refusal?.message.contains("features") == true)
        // The session survives a refusal.
        _ = try await session.infer(golden.inputs)
        await session.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func concurrentInferencesOnOneSessionStayInSequence(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        let golden = try Golden.load()
        let results = try await withThrowingTaskGroup(of: [String: Enclava_V1_Tensor].self) { group in
            for _ in 0..<8 { group.addTask { try await session.infer(golden.inputs) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0["probabilities"] == results[0]["probabilities"] })
        #expect(await session.nextRequestSequence == 8)
        await session.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aTamperedRequestFailsToDecryptAndPoisonsTheSession(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        let golden = try Golden.load()
        var payload = Enclava_V1_InferPayload()
        payload.inputs = golden.inputs
        var first = try await session.makeRequest(payload: payload)
        let second = try await session.makeRequest(payload: payload)
        var bytes = [UInt8](first.ciphertext)
        bytes[bytes.count / 3] ^= 0x40
        first.ciphertext = Data(bytes)
        await expectRemote("REQUEST_DECRYPTION_FAILED") { _ = try await session.send(first) }
        // The enclave refuses the session from now on, even a valid next request…
        await expectRemote("SESSION_POISONED") { _ = try await session.send(second) }
        // …and this side refuses to use it again.
        _ = await expectClient(.sessionUnusable) { _ = try await session.infer(golden.inputs) }
        // A new session works.
        let fresh = try await connect(endpoint)
        _ = try await fresh.infer(golden.inputs)
        await fresh.close()
        await session.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aTamperedResponseFailsToDecrypt(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        let request = try await session.makeRequest(payload: payload)
        var response = try await session.send(request)
        var bytes = [UInt8](response.ciphertext)
        bytes[0] ^= 0x01
        response.ciphertext = Data(bytes)
        _ = await expectClient(.responseDecryptionFailed) { _ = try await session.openResponse(response, for: request.sequence) }
        _ = await expectClient(.sessionUnusable) { _ = try await session.makeRequest(payload: payload) }
        await session.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aResponseForAnotherSequenceIsRefused(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        let request = try await session.makeRequest(payload: payload)
        var response = try await session.send(request)
        response.sequence += 1
        _ = await expectClient(.responseSequenceMismatch) { _ = try await session.openResponse(response, for: request.sequence) }
        await session.close()
        await runtime.shutdown()
    }

    /// One request frame calling `method` with `message` on `streamID`.
    static func requestFrame(_ method: EnclaveService.Method, _ message: some SwiftProtobuf.Message,
                             streamID: UInt32) throws -> [UInt8] {
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = method.rawValue
        request.payload = try message.serializedData()
        let bytes: [UInt8] = try request.serializedBytes()
        return frameHeader(length: UInt32(bytes.count), streamID: streamID, type: 1) + bytes
    }

    /// Reads one response frame and returns its payload, failing the test on an error status.
    static func readAnswer(_ raw: RawUnixSocket) throws -> [UInt8] {
        let header = raw.read(10)
        try #require(header.count == 10, "the connection closed")
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        let response = try Ttrpc_Response(serializedBytes: raw.read(length))
        try #require(response.status.code == RPCCode.ok.rawValue, "\(RPCError(status: response.status))")
        return [UInt8](response.payload)
    }

    /// An honest client may pipeline: 32 Infer requests of one session written back to back on one connection,
    /// without waiting for answers, are all admitted in arrival order (none is refused SEQUENCE_OUT_OF_ORDER).
    /// The session is opened on that same raw connection (sessions are bound to their connection).
    @Test func pipelinedInferencesOnOneConnectionAreAdmittedInArrivalOrder() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        guard case .unix(let path) = endpoint else { return }
        let raw = try RawUnixSocket(path: path)
        var nonce = Enclava_V1_GetEvidenceRequest()
        nonce.nonce = Data(SecureRandom.bytes(count: 32))
        raw.write(try Self.requestFrame(.getEvidence, nonce, streamID: 1))
        let evidence = try Enclava_V1_GetEvidenceResponse(serializedBytes: try Self.readAnswer(raw))
        let digest = SHA2.sha384([UInt8](evidence.evidence))
        let sender = try HPKE.Sender(recipientPublicKey: [UInt8](evidence.hpkePublicKey),
                                     info: SessionKeySchedule.info(evidenceDigest: digest))
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(digest)
        raw.write(try Self.requestFrame(.openSession, open, streamID: 3))
        let opened = try Enclava_V1_OpenSessionResponse(serializedBytes: try Self.readAnswer(raw))
        var session = ManualClient(sender: sender, schedule: try SessionKeySchedule(sender: sender),
                                   sessionID: [UInt8](opened.sessionID))
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        let count = 32
        let firstStream: UInt32 = 5
        var wire: [UInt8] = []
        for index in 0..<count {
            wire += try Self.requestFrame(.infer, try session.request(payload), streamID: firstStream + UInt32(2 * index))
        }
        raw.write(wire)   // all 32 in one write: the server decodes them in order, nothing awaits an answer
        var answered: Set<UInt64> = []
        for _ in 0..<count {
            let header = raw.read(10)
            try #require(header.count == 10, "the connection closed after \(answered.count) answer(s)")
            let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            let streamID = UInt32(header[4]) << 24 | UInt32(header[5]) << 16 | UInt32(header[6]) << 8 | UInt32(header[7])
            let response = try Ttrpc_Response(serializedBytes: raw.read(length))
            let sequence = UInt64(streamID - firstStream) / 2
            #expect(response.status.code == RPCCode.ok.rawValue,
                    "request \(sequence): \(RPCError(status: response.status))")
            guard response.status.code == RPCCode.ok.rawValue else { continue }
            let answer = try Enclava_V1_InferResponse(serializedBytes: [UInt8](response.payload))
            #expect(answer.sequence == sequence)
            #expect(try !session.result(answer).hasError)
            answered.insert(sequence)
        }
        #expect(answered == Set(0..<UInt64(count)))
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func replayAndReorderAreRefused(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await connect(endpoint)
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        let r0 = try await session.makeRequest(payload: payload)
        let r1 = try await session.makeRequest(payload: payload)
        // Reorder: 1 before 0.
        await expectRemote("SEQUENCE_OUT_OF_ORDER") { _ = try await session.send(r1) }
        let a0 = try await session.send(r0)
        #expect(try await !session.openResponse(a0, for: 0).hasError)
        // Replay of 0.
        await expectRemote("SEQUENCE_OUT_OF_ORDER") { _ = try await session.send(r0) }
        // Neither harmed the session.
        let a1 = try await session.send(r1)
        #expect(try await !session.openResponse(a1, for: 1).hasError)
        _ = try await session.infer(payload.inputs)
        await session.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aSubstitutedHPKEKeyIsRefused(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let attacker = X25519PrivateKey().publicKey
        let transport = TamperingTransport(inner: try await TTRPCClient.connect(to: endpoint)) { evidence in
            evidence.hpkePublicKey = Data(attacker)
        }
        let error = await expectClient(.attestationFailed) {
            _ = try await ConfidentialSession.connect(using: transport, policy: world.policy(), verifier: world.verifier)
        }
        #expect(error?.attestationError?.code == .hpkeKeyMismatch)
        await transport.close()
        await runtime.shutdown()
    }

    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aWrongMeasurementOrManifestDigestIsRefused(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let wrongMeasurement = await expectClient(.attestationFailed) {
            _ = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(measurement: [UInt8](repeating: 0x11, count: 48)),
                                                      verifier: world.verifier)
        }
        #expect(wrongMeasurement?.attestationError?.code == .measurementMismatch)
        let wrongDigest = await expectClient(.attestationFailed) {
            _ = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(manifestDigest: [UInt8](repeating: 0x22, count: 48)),
                                                      verifier: world.verifier)
        }
        #expect(wrongDigest?.attestationError?.code == .manifestDigestMismatch)
        await runtime.shutdown()
    }

    /// Issue 11: a guest that restarts behind the same VMM port. The old session dies with the old enclave (its
    /// HPKE key is gone), the client sees UNAVAILABLE, and a new session through the same hvsock address works.
    @Test func aRestartedGuestIsReachedAgainThroughTheSameVMMPort() async throws {
        let socket = world.directory + "/restart-\(UUID().uuidString.prefix(8)).sock"
        let (first, endpoint) = try await world.startRuntime(transport: .hvsock, socket: socket)
        let golden = try Golden.load()
        let session = try await connect(endpoint)
        _ = try await session.infer(golden.inputs)
        await first.shutdown()
        let lost = await expectClient(.remote) { _ = try await session.infer(golden.inputs) }
        #expect(lost?.rpcError?.code == .unavailable, "\(String(describing: lost))")
        let (second, again) = try await world.startRuntime(transport: .hvsock, socket: socket)
        #expect(again == endpoint)
        let fresh = try await connect(again)
        _ = try await fresh.infer(golden.inputs)
        #expect(fresh.verifiedEvidence.hpkePublicKey != session.verifiedEvidence.hpkePublicKey)
        await fresh.close()
        await session.close()
        await second.shutdown()
    }

    @Test func rawProtocolErrors() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        let client = try await TTRPCClient.connect(to: endpoint)
        // A nonce that is not 32 bytes.
        var evidenceRequest = Enclava_V1_GetEvidenceRequest()
        evidenceRequest.nonce = Data(count: 31)
        await #expect(throws: RPCError.self) { _ = try await client.call(.getEvidence, evidenceRequest, as: Enclava_V1_GetEvidenceResponse.self) }
        do {
            _ = try await client.call(.getEvidence, evidenceRequest, as: Enclava_V1_GetEvidenceResponse.self)
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.reason == "INVALID_NONCE")
        }
        // OpenSession with evidence this enclave never issued.
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(X25519PrivateKey().publicKey)
        open.evidenceDigest = Data(SHA2.sha384([1, 2, 3]))
        do {
            _ = try await client.call(.openSession, open, as: Enclava_V1_OpenSessionResponse.self)
            Issue.record("opened a session on unknown evidence")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition && error.reason == "UNKNOWN_EVIDENCE")
        }
        // Infer on an unknown session.
        var infer = Enclava_V1_InferRequest()
        infer.sessionID = Data(count: 16)
        do {
            _ = try await client.call(.infer, infer, as: Enclava_V1_InferResponse.self)
            Issue.record("inferred on an unknown session")
        } catch let error as RPCError {
            #expect(error.code == .notFound && error.reason == "SESSION_NOT_FOUND")
        }
        // ProvisionKey to an enclave whose key was sealed in its image is refused without effect.
        do {
            _ = try await client.call(.provisionKey, Enclava_V1_ProvisionKeyRequest(), as: Enclava_V1_ProvisionKeyResponse.self)
            Issue.record("ProvisionKey answered OK")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition && error.reason == "NOT_WAITING_FOR_KEY")
        }
        // Health says ready, with no secrets.
        let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        #expect(health.state == .ready && health.modelName == "fraud-detector" && health.backend == "sim")
        await client.close()
        await runtime.shutdown()
    }

    @Test func aFullQueueAnswersResourceExhausted() async throws {
        // A copy of the fraud detector with one worker and a queue of one, and a model that blocks.
        let folder = try makeTemporaryDirectory("enclava-q")
        let source = EndToEndWorld.fraudDetector
        var manifest = try String(contentsOf: source.appendingPathComponent("manifest.toml"), encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "threads = 2", with: "threads = 1")
            .replacingOccurrences(of: "max_queue = 64", with: "max_queue = 1")
        try manifest.write(toFile: folder + "/manifest.toml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: source.appendingPathComponent("model.onnx").path, toPath: folder + "/model.onnx")
        let image = folder + "/small-queue.eimg"
        let digest = try EndToEndWorld.package(manifest: folder + "/manifest.toml", output: image, simulated: world.simulated,
                                      measurement: world.platform.measurement, signer: world.signer)
        let gate = Gate()
        let (runtime, endpoint) = try await world.startRuntime(imagePath: image, engine: BlockingEngine(gate: gate))
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(manifestDigest: digest),
                                                            verifier: world.verifier)
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        let requests = try await [session.makeRequest(payload: payload), session.makeRequest(payload: payload),
                                  session.makeRequest(payload: payload)]
        let running = Task { try await session.send(requests[0]) }
        try await waitUntil { await runtime.core.queuedAndRunning() == (0, 1) }
        let waiting = Task { try await session.send(requests[1]) }
        try await waitUntil { await runtime.core.queuedAndRunning() == (1, 1) }
        await expectRemote("QUEUE_FULL") { _ = try await session.send(requests[2]) }
        gate.open()
        #expect(try await !session.openResponse(running.value, for: 0).hasError)
        #expect(try await !session.openResponse(waiting.value, for: 1).hasError)
        await session.close()
        await runtime.shutdown()
    }

    /// Shutdown is refused on the client socket (the runtime keeps serving) and served on the control socket,
    /// which in turn refuses the client calls.
    @Test func shutdownIsServedOnlyOnTheControlSocket() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        let client = try await TTRPCClient.connect(to: endpoint)
        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        }
        #expect(refused?.code == .permissionDenied && refused?.reason == "HOST_ONLY_METHOD")
        // A client can neither take the enclave's sealed state nor plant one.
        let take = await #expect(throws: RPCError.self) {
            _ = try await client.call(.takeSealedState, Enclava_V1_TakeSealedStateRequest(), as: Enclava_V1_TakeSealedStateResponse.self)
        }
        #expect(take?.code == .permissionDenied && take?.reason == "HOST_ONLY_METHOD")
        var planted = Enclava_V1_OfferSealedStateRequest()
        planted.blob = Data("ENCLSEAL".utf8)
        let offer = await #expect(throws: RPCError.self) {
            _ = try await client.call(.offerSealedState, planted, as: Enclava_V1_OfferSealedStateResponse.self)
        }
        #expect(offer?.code == .permissionDenied && offer?.reason == "HOST_ONLY_METHOD")
        #expect(try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self).state == .ready)

        let control = try await TTRPCClient.connect(to: EndToEndWorld.control(of: endpoint))
        // The key is sealed in this image: the host's offer changes nothing, and nothing was sealed to take.
        let answer = try await control.call(.offerSealedState, planted, as: Enclava_V1_OfferSealedStateResponse.self)
        #expect(answer.outcome == .notWaiting)
        let taken = try await control.call(.takeSealedState, Enclava_V1_TakeSealedStateRequest(), as: Enclava_V1_TakeSealedStateResponse.self)
        #expect(taken.generation == 0 && taken.blob.isEmpty)
        var nonce = Enclava_V1_GetEvidenceRequest()
        nonce.nonce = Data(count: 32)
        let clientCall = await #expect(throws: RPCError.self) {
            _ = try await control.call(.getEvidence, nonce, as: Enclava_V1_GetEvidenceResponse.self)
        }
        #expect(clientCall?.code == .permissionDenied && clientCall?.reason == "NOT_A_CONTROL_METHOD")
        #expect(try await control.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self).state == .ready)
        _ = try await control.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        await runtime.waitUntilStopped()
        await control.close()
        await client.close()
        let gone = await #expect(throws: RPCError.self) { _ = try await TTRPCClient.connect(to: endpoint) }
        #expect(gone?.reason == "CONNECT_FAILED")
    }

    @Test func startupRefusesAnImageSealedForAnotherMeasurement() async throws {
        let other = RemeasuredPlatform(base: world.platform, measurement: [UInt8](repeating: 0x5A, count: 48))
        do {
            _ = try await world.startRuntime(platform: other)
            Issue.record("started with the wrong measurement")
        } catch let error as RuntimeError {
            #expect(error.code == .unsealFailed)
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func startupRefusesAMissingImage() async throws {
        do {
            _ = try await world.startRuntime(imagePath: world.directory + "/missing.eimg")
            Issue.record("started without an image")
        } catch let error as RuntimeError {
            #expect(error.code == .imageInvalid)
            #expect(error.message.contains("missing.eimg"))
        }
    }
}
