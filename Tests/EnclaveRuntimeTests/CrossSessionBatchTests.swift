import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import EnclaveInference
import Foundation
import Testing
@testable import EnclaveRuntime

/// Requests of different sessions share a model run only when the model is proven row-independent
/// (DESIGN.md §5). Issue 8's reproduction: with `Y = X + ReduceMean(X, axes=[0])`, `max_batch = 8` and one
/// worker, client A (all 1.0) used to get 501.5 — client B's input — when queued beside B (all 1000.0).
@Suite struct CrossSessionBatchTests {
    /// `Y = X + ReduceMean(X, axes=[0])`, X `[N, 4]`.
    static let reduceMeanModel = Onnx.model(
        nodes: [.init(op: "ReduceMean", inputs: ["x"], outputs: ["m"], intAttributes: ["keepdims": 1], intsAttributes: ["axes": [0]]),
                .init(op: "Add", inputs: ["x", "m"], outputs: ["y"])],
        inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)])

    /// A real model whose first run waits for a gate (so that later requests queue up behind it); records
    /// the rows of every run and forwards the model's verdict.
    final class GatedModel: InferenceEngine, @unchecked Sendable {
        let model: InferenceModel
        let gate = Gate()
        private let lock = NSLock()
        private var runs: [Int] = []

        init(_ model: InferenceModel) { self.model = model }

        var rowsPerRun: [Int] { lock.withLock { runs } }
        var rowIndependence: BatchRowIndependence { model.rowIndependence }

        func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
            let first = lock.withLock { () -> Bool in
                runs.append(inputs.values.first?.shape.first ?? 0)
                return runs.count == 1
            }
            if first { gate.wait() }
            return try model.run(inputs)
        }
    }

    static func payload(_ value: Float, name: String = "x", columns: Int = 4) -> Enclava_V1_InferPayload {
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = .float32
        tensor.shape = [1, Int64(columns)]
        tensor.data = Data(HostTensor(float32: Array(repeating: value, count: columns), shape: [1, columns]).data)
        var payload = Enclava_V1_InferPayload()
        payload.inputs[name] = tensor
        return payload
    }

    /// Runs a blocker from a third client, queues A's and B's requests behind it, then lets the worker go.
    static func queueBeside(_ engine: GatedModel, a: Enclava_V1_InferPayload, b: Enclava_V1_InferPayload)
        async throws -> (a: Enclava_V1_InferResult, b: Enclava_V1_InferResult) {
        let core = await readyCore(engine: engine, threads: 1, maxQueue: 8, maxBatch: 8)
        var blocker = try await ManualClient.open(core)
        var clientA = try await ManualClient.open(core)
        var clientB = try await ManualClient.open(core)
        let first = try blocker.request(a)
        let blocked = Task { await core.infer(first) }
        try await waitUntil { await core.queuedAndRunning() == (0, 1) }
        let requestA = try clientA.request(a), requestB = try clientB.request(b)
        let answerA = Task { await core.infer(requestA) }
        try await waitUntil { await core.queuedAndRunning().waiting == 1 }
        let answerB = Task { await core.infer(requestB) }
        try await waitUntil { await core.queuedAndRunning().waiting == 2 }
        engine.gate.open()
        _ = try blocker.result(try await blocked.value.get())
        let results = (try clientA.result(try await answerA.value.get()), try clientB.result(try await answerB.value.get()))
        await core.stop()
        return results
    }

    @Test func aClientsResultDoesNotDependOnAnotherSessionQueuedBesideIt() async throws {
        let model = try InferenceModel(onnx: Self.reduceMeanModel, memoryLockPolicy: .allowUnlocked)
        #expect(model.rowIndependence.node == "ReduceMean 'reducemean_m'")
        let alone = try #require(try model.run(["x": HostTensor(float32: [1, 1, 1, 1], shape: [1, 4])])["y"]?.float32Values)
        #expect(alone == [2, 2, 2, 2])

        let engine = GatedModel(model)
        let (a, b) = try await Self.queueBeside(engine, a: Self.payload(1), b: Self.payload(1000))
        let resultA = try #require(a.outputs["y"])
        let valuesA = HostTensor(dtype: .float32, shape: [1, 4], data: [UInt8](resultA.data)).float32Values
        #expect(valuesA == alone, "client A got \(valuesA ?? []) beside client B (501.5 means B's rows reached A's result)")
        let resultB = try #require(b.outputs["y"])
        #expect(HostTensor(dtype: .float32, shape: [1, 4], data: [UInt8](resultB.data)).float32Values == [2000, 2000, 2000, 2000])
        #expect(engine.rowsPerRun == [1, 1, 1])
    }

    @Test func aProvenModelStillBatchesAcrossSessions() async throws {
        let onnx = try [UInt8](Data(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("model.onnx")))
        let model = try InferenceModel(onnx: onnx, memoryLockPolicy: .allowUnlocked)
        #expect(model.rowIndependence.isProven)
        let engine = GatedModel(model)
        let (a, b) = try await Self.queueBeside(engine, a: Self.payload(0.5, name: "features", columns: 8),
                                                b: Self.payload(3, name: "features", columns: 8))
        #expect(engine.rowsPerRun == [1, 2])
        // Beside B, A still gets its result alone.
        let alone = try #require(try model.run(["features": HostTensor(float32: Array(repeating: 0.5, count: 8), shape: [1, 8])])["probabilities"]?
            .float32Values)
        let resultA = try #require(a.outputs["probabilities"])
        let valuesA = try #require(HostTensor(dtype: .float32, shape: [1, 2], data: [UInt8](resultA.data)).float32Values)
        #expect(zip(valuesA, alone).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(valuesA) vs \(alone)")
        #expect(!b.hasError)
    }

    /// The batch runner's own guard: should a batch that spans sessions ever reach it for a model that is
    /// not proven, each session's requests run on their own.
    @Test func aBatchSpanningSessionsRunsOneSessionAtATimeWithoutAProof() throws {
        let engine = RecordingEngine()
        engine.gate.open()
        let schedule = try SessionKeySchedule(export: { _, length in SecureBytes(count: length) })
        final class Count: @unchecked Sendable {
            private let lock = NSLock()
            private var count = 0
            func add() { lock.withLock { count += 1 } }
            var value: Int { lock.withLock { count } }
        }
        let answered = Count()
        func job(_ session: UInt8) throws -> InferenceJob {
            var payload = Enclava_V1_InferPayload()
            payload.inputs["x"] = Self.payload(Float(session)).inputs["x"]
            let plaintext = try payload.secureSerializedBytes()
            let request = SessionStateMachine.OpenedRequest(sessionID: Array(repeating: session, count: 16), sequence: 0,
                                                            plaintext: plaintext, schedule: schedule)
            return InferenceJob(request: request, prepared: InferenceJob.prepare(plaintext, limits: TensorLimits())) { _ in
                answered.add()
            }
        }
        let jobs = [try job(1), try job(2), try job(1)]
        #expect(jobs[0].canBatch(with: jobs[1], acrossSessions: true))
        #expect(!jobs[0].canBatch(with: jobs[1], acrossSessions: false))
        #expect(jobs[0].canBatch(with: jobs[2], acrossSessions: false))
        InferenceBatch.run(jobs, engine: engine)
        #expect(engine.rowsPerRun == [2, 1])
        #expect(answered.value == 3)
    }
}
