import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import EnclaveInference
import EnclavePlatform
import Foundation
import Testing
@testable import EnclaveRuntime

/// A platform double: "evidence" is the report data plus a counter, so every blob is distinct.
struct FakePlatform: TEEPlatform {
    var backend: String { "fake" }
    var measurement: [UInt8] { [UInt8](repeating: 0xAB, count: 48) }
    var isSimulated: Bool { true }
    func evidence(reportData: [UInt8]) throws -> Evidence {
        Evidence(platform: .sevSNP, blob: reportData + SecureRandom.bytes(count: 8), certificates: [])
    }
    func sealingKey(purpose: String) throws -> SecureBytes { SecureBytes(count: 32) }
}

/// Returns its inputs as outputs, with "_out" appended to each name.
struct EchoEngine: InferenceEngine {
    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        Dictionary(uniqueKeysWithValues: inputs.map { ($0.key + "_out", $0.value) })
    }
}

/// Blocks every run until its gate opens.
struct BlockingEngine: InferenceEngine {
    let gate: Gate
    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        gate.wait()
        return inputs
    }
}

/// Echoes its inputs, records the leading dimension of every run, and blocks the first run on a gate.
final class RecordingEngine: InferenceEngine, @unchecked Sendable {
    let gate = Gate()
    private let lock = NSLock()
    private var runs: [Int] = []

    var rowsPerRun: [Int] { lock.withLock { runs } }

    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        let first = lock.withLock { () -> Bool in
            runs.append(inputs.values.first?.shape.first ?? 0)
            return runs.count == 1
        }
        if first { gate.wait() }
        return try EchoEngine().run(inputs)
    }
}

/// The client side of a session, driven by hand.
struct ManualClient {
    var sender: HPKE.Sender
    let schedule: SessionKeySchedule
    let sessionID: [UInt8]
    var sequence: UInt64 = 0

    static func open(_ core: EnclaveCore) async throws -> ManualClient {
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(SecureRandom.bytes(count: 32))
        let evidence = try await core.getEvidence(request).get()
        let digest = SHA2.sha384([UInt8](evidence.evidence))
        let sender = try HPKE.Sender(recipientPublicKey: [UInt8](evidence.hpkePublicKey),
                                     info: SessionKeySchedule.info(evidenceDigest: digest))
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(digest)
        let session = try await core.openSession(open).get()
        return ManualClient(sender: sender, schedule: try SessionKeySchedule(sender: sender),
                            sessionID: [UInt8](session.sessionID))
    }

    mutating func request(_ payload: Enclava_V1_InferPayload) throws -> Enclava_V1_InferRequest {
        var request = Enclava_V1_InferRequest()
        request.sessionID = Data(sessionID)
        request.sequence = sequence
        request.ciphertext = Data(try sender.seal(try payload.serializedBytes() as [UInt8],
                                                  aad: SessionKeySchedule.requestAAD(sessionID: sessionID, sequence: sequence)))
        sequence += 1
        return request
    }

    func result(_ response: Enclava_V1_InferResponse) throws -> Enclava_V1_InferResult {
        let plaintext = try schedule.openResponse([UInt8](response.ciphertext), sessionID: sessionID,
                                                  sequence: response.sequence)
        return try Enclava_V1_InferResult(serializedBytes: plaintext.unsafeCopyToArray())
    }
}

func floatPayload(_ name: String = "x", shape: [Int64] = [1, 2], bytes: Int = 8) -> Enclava_V1_InferPayload {
    var tensor = Enclava_V1_Tensor()
    tensor.dtype = .float32
    tensor.shape = shape
    tensor.data = Data((0..<bytes).map { UInt8($0) })
    var payload = Enclava_V1_InferPayload()
    payload.inputs[name] = tensor
    return payload
}

func readyCore(engine: any InferenceEngine = EchoEngine(), threads: Int = 1, maxQueue: Int = 4,
               maxBatch: Int = 1) async -> EnclaveCore {
    let core = EnclaveCore(platform: FakePlatform())
    await core.beginLoading(modelName: "test")
    await core.loaded(.init(engine: engine, manifestDigest: SHA2.sha384([1]), modelName: "test",
                            threads: threads, maxQueue: maxQueue, maxBatch: maxBatch))
    return core
}

@Suite struct EnclaveCoreTests {
    @Test func everyHandlerChecksStateFirst() async throws {
        let core = EnclaveCore(platform: FakePlatform())
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(count: 32)
        #expect(await core.getEvidence(request).failureReason == RuntimeReason.notReady)
        #expect(await core.openSession(.init()).failureReason == RuntimeReason.notReady)
        #expect(await core.infer(.init()).failureReason == RuntimeReason.notReady)
        #expect(await core.healthResponse().state == .starting)
        await core.beginLoading(modelName: "m")
        #expect(await core.healthResponse().state == .loading)
        await core.failed("boom")
        let health = await core.healthResponse()
        #expect(health.state == .failed && health.message == "boom")
        #expect(await core.getEvidence(request).failureReason == RuntimeReason.notReady)
    }

    @Test(arguments: [0, 16, 31, 33, 64])
    func aNonceMustBe32Bytes(length: Int) async {
        let core = await readyCore()
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(count: length)
        let result = await core.getEvidence(request)
        #expect(result.failureReason == RuntimeReason.invalidNonce)
        #expect(result.failureCode == .invalidArgument)
        await core.stop()
    }

    @Test func evidenceBindsNonceDigestAndKey() async throws {
        let core = await readyCore()
        let nonce = SecureRandom.bytes(count: 32)
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(nonce)
        let response = try await core.getEvidence(request).get()
        let expected = ReportData.make(nonce: nonce, manifestDigest: SHA2.sha384([1]), hpkePublicKey: await core.hpkePublicKey)
        #expect(Array(response.evidence.prefix(64)) == expected)
        #expect([UInt8](response.hpkePublicKey) == (await core.hpkePublicKey))
        #expect(response.format == .sevSnp && response.modelName == "test" && response.backend == "fake")
        await core.stop()
    }

    @Test func unknownEvidenceCannotOpenASession() async throws {
        let core = await readyCore()
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(X25519PrivateKey().publicKey)
        open.evidenceDigest = Data(SHA2.sha384([9]))
        let result = await core.openSession(open)
        #expect(result.failureReason == "UNKNOWN_EVIDENCE")
        #expect(result.failureCode == .failedPrecondition)
        await core.stop()
    }

    @Test func inferRoundTripsAndRefusalsStayEncrypted() async throws {
        let core = await readyCore()
        var client = try await ManualClient.open(core)
        let ok = try client.result(try await core.infer(try client.request(floatPayload())).get())
        #expect(!ok.hasError)
        #expect(ok.outputs["x_out"]?.data == Data((0..<8).map { UInt8($0) }))
        // A malformed tensor comes back as an encrypted error naming the input.
        let bad = try client.result(try await core.infer(try client.request(floatPayload("features", bytes: 7))).get())
        #expect(bad.hasError)
        #expect(bad.error.reason == RuntimeReason.invalidTensor)
        #expect(bad.error.metadata["input"] == "features")
        #expect(bad.outputs.isEmpty)
        // Texts are refused by a tensor pipeline, still inside the encrypted result.
        var texts = floatPayload()
        texts.texts = ["hello"]
        let refusedTexts = try client.result(try await core.infer(try client.request(texts)).get())
        #expect(refusedTexts.error.reason == RuntimeReason.textsNotSupported)
        await core.stop()
    }

    @Test func aFullQueueAnswersResourceExhaustedAtOnce() async throws {
        let gate = Gate()
        let core = await readyCore(engine: BlockingEngine(gate: gate), threads: 1, maxQueue: 1)
        var client = try await ManualClient.open(core)
        let first = try client.request(floatPayload())
        let second = try client.request(floatPayload())
        let third = try client.request(floatPayload())
        // The first blocks in the worker, the second waits in the queue, the third finds it full.
        let running = Task { await core.infer(first) }
        try await waitUntil { await core.queuedAndRunning() == (0, 1) }
        let waiting = Task { await core.infer(second) }
        try await waitUntil { await core.queuedAndRunning() == (1, 1) }
        let refused = await core.infer(third)
        #expect(refused.failureCode == .resourceExhausted)
        #expect(refused.failureReason == "QUEUE_FULL")
        gate.open()
        #expect(try client.result(try await running.value.get()).hasError == false)
        #expect(try client.result(try await waiting.value.get()).hasError == false)
        await core.stop()
    }

    @Test func compatibleRequestsShareOneModelRunAndGetTheirOwnRowsBack() async throws {
        let engine = RecordingEngine()
        let core = await readyCore(engine: engine, threads: 1, maxQueue: 8, maxBatch: 4)
        var client = try await ManualClient.open(core)
        func payload(_ rows: Int64, fill: UInt8, width: Int64 = 2) -> Enclava_V1_InferPayload {
            var tensor = Enclava_V1_Tensor()
            tensor.dtype = .float32
            tensor.shape = [rows, width]
            tensor.data = Data(repeating: fill, count: Int(rows * width * 4))
            var payload = Enclava_V1_InferPayload()
            payload.inputs["x"] = tensor
            return payload
        }
        let first = try client.request(payload(1, fill: 0))
        let blocked = Task { await core.infer(first) }
        try await waitUntil { await core.queuedAndRunning() == (0, 1) }
        // Three compatible requests (1, 2 and 3 rows) and one of another width wait behind it.
        var tasks: [Task<Result<Enclava_V1_InferResponse, RPCError>, Never>] = []
        let fills: [UInt8] = [1, 2, 3, 4]
        for (index, fill) in fills.enumerated() {
            let request = try client.request(payload(index == 3 ? 1 : Int64(index + 1), fill: fill, width: index == 3 ? 3 : 2))
            tasks.append(Task { await core.infer(request) })
            try await waitUntil { await core.queuedAndRunning().waiting == index + 1 }
        }
        engine.gate.open()
        _ = try client.result(try await blocked.value.get())
        for (index, task) in tasks.enumerated() {
            let result = try client.result(try await task.value.get())
            let output = try #require(result.outputs["x_out"])
            let rows = index == 3 ? 1 : index + 1
            #expect(output.shape == [Int64(rows), index == 3 ? 3 : 2])
            #expect(output.data == Data(repeating: fills[index], count: output.data.count))
        }
        #expect(engine.rowsPerRun == [1, 6, 1])
        await core.stop()
    }

    /// A ready enclave (its key was sealed in the image, or released already) refuses every ProvisionKey first,
    /// whatever it carries, and none of them changes anything: the evidence it names is not used up, sessions and
    /// health stay as they were. (The refusals of a waiting enclave are in `ProvisionKeyTests`.)
    @Test func provisionKeyOnAReadyEnclaveIsRefusedWithoutEffect() async throws {
        let core = await readyCore()
        let connection = TTRPCConnectionID.next()
        var nonce = Enclava_V1_GetEvidenceRequest()
        nonce.nonce = Data(SecureRandom.bytes(count: 32))
        let evidence = try await core.getEvidence(nonce, connection: connection).get()
        let digest = SHA2.sha384([UInt8](evidence.evidence))
        let before = await core.sessionTableCounts()
        #expect(before == (0, 1))

        func provision(digest: [UInt8], enc: Int, key: Int, on: TTRPCConnectionID = connection) async -> RPCError? {
            var request = Enclava_V1_ProvisionKeyRequest()
            request.evidenceDigest = Data(digest)
            request.enc = Data(SecureRandom.bytes(count: enc))
            request.sealedKey = Data(SecureRandom.bytes(count: key))
            guard case .failure(let error) = await core.provisionKey(request, connection: on) else { return nil }
            return error
        }
        for (digest, enc, key) in [(SecureRandom.bytes(count: 48), 32, 48), (digest, 32, 48), (digest, 7, 48), (digest, 32, 0)] {
            let refusal = await provision(digest: digest, enc: enc, key: key)
            #expect(refusal?.code == .failedPrecondition && refusal?.reason == RuntimeReason.notWaitingForKey)
            #expect(refusal?.message.contains("it is ready") == true)
        }
        let malformed = await EnclaveRequestHandler(core: core, channel: .client)
            .handle(method: "ProvisionKey", service: EnclaveService.name, payload: [0xFF, 0xFF, 0x07], connection: connection)
        #expect(malformed.failureReason == RuntimeReason.malformedRequest)

        #expect(await core.sessionTableCounts() == before)
        #expect(await core.healthResponse().state == .ready)
        // The evidence was not used up: it still opens a session on its connection.
        let sender = try HPKE.Sender(recipientPublicKey: [UInt8](evidence.hpkePublicKey),
                                     info: SessionKeySchedule.info(evidenceDigest: digest))
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(digest)
        let opened = await core.openSession(open, connection: connection)
        #expect(throws: Never.self) { _ = try opened.get() }
        await core.stop()
    }

    @Test func afterShutdownRequestsAreRefused() async throws {
        let core = await readyCore()
        var client = try await ManualClient.open(core)
        #expect(await core.beginShutdown())
        #expect(await core.infer(try client.request(floatPayload())).failureReason == RuntimeReason.shuttingDown)
        #expect(await core.healthResponse().message == "shutting down")
        await core.stop()
    }
}

extension Result where Failure == RPCError {
    var failureReason: String? { if case .failure(let error) = self { error.reason } else { nil } }
    var failureCode: RPCCode? { if case .failure(let error) = self { error.code } else { nil } }
}

/// Polls `condition` (yielding) until it holds; fails after many rounds rather than hanging.
func waitUntil(_ condition: () async -> Bool) async throws {
    for _ in 0..<20_000 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("condition never held")
}
