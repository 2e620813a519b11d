import EnclavaAttestation
import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import EnclaveInference
import EnclavePlatform
import EnclaveRuntime
import Foundation

/// `enclava-bench batching`: throughput of the enclave's execution loop with many concurrent clients, each
/// in its own attested session (HPKE-sealed requests through `EnclaveCore`, in this process), before and
/// after issue 8's rule that requests of different sessions share a model run only when the model is proven
/// row-independent (DESIGN.md §5). "before" serves the model as the runtime used to, batching every
/// request of the same trailing shape together; "after" uses the model's own verdict. Prints requests/s,
/// model runs, how many runs held more than one session's rows, and rows per run, for the fraud detector
/// (proven: it batches as before) and for `Y = X + ReduceMean(X, axes=[0])` (not proven: one session per run
/// now, where before each client's answer depended on the others'). A benchmark, not a test: nothing here
/// asserts a time.
///
/// Each (model, policy) pair runs `--rounds` times, the policies taking turns so that the load of a shared machine
/// weighs on both alike; the median round is printed, with the range of requests/s over the rounds.
///
/// Usage: enclava-bench batching [--clients N] [--requests N] [--rounds N] [--threads N] [--max-batch N] [--fraud-model PATH]
struct BatchingBenchmark {
    var clients = 16
    var requests = 500
    var rounds = 3
    var threads = 1
    var maxBatch = 8
    var fraudModel = "Manifests/fraud-detector/model.onnx"

    /// Parses the arguments after `batching`, runs, prints and exits the process.
    static func main(_ arguments: [String]) -> Never {
        var bench = BatchingBenchmark()
        var rest = arguments[...]
        func refuse(_ message: String) -> Never {
            FileHandle.standardError.write(Data(("enclava-bench batching: \(message); use --clients N (1…256), --requests N (1…100000), --rounds N (1…99), "
                                                 + "--threads N (1…64), --max-batch N (1…256), --fraud-model PATH\n").utf8))
            exit(2)
        }
        func number(_ option: String, _ range: ClosedRange<Int>) -> Int {
            guard let text = rest.popFirst() else { refuse("\(option) needs a value") }
            guard let number = Int(text), range.contains(number) else { refuse("\(option) \(text) is not a whole number in \(range)") }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--clients": bench.clients = number(argument, 1...256)
            case "--requests": bench.requests = number(argument, 1...100_000)
            case "--rounds": bench.rounds = number(argument, 1...99)
            case "--threads": bench.threads = number(argument, 1...64)
            case "--max-batch": bench.maxBatch = number(argument, 1...256)
            case "--fraud-model":
                guard let path = rest.popFirst() else { refuse("--fraud-model needs a value") }
                bench.fraudModel = path
            default: refuse("unknown option \(argument)")
            }
        }
        BenchMain.run("batching") { [bench] in
            try await bench.run()
            return true
        }
    }

    func run() async throws {
        print("# batching: \(clients) concurrent clients (one session each), \(requests) requests each, 1 row per request, "
              + "threads=\(threads) max_batch=\(maxBatch), median of \(rounds) rounds (policies taking turns)")
        print("# before = rows of every session batched by shape alone (the runtime before issue 8); "
              + "after = across sessions only when the model is proven row-independent")
        let fraud = try InferenceModel(onnx: [UInt8](try Data(contentsOf: URL(fileURLWithPath: fraudModel))),
                                       memoryLockPolicy: .allowUnlocked)
        let reduceMean = try InferenceModel(
            onnx: Onnx.model(nodes: [.init(op: "ReduceMean", inputs: ["x"], outputs: ["m"], intAttributes: ["keepdims": 1],
                                           intsAttributes: ["axes": [0]]),
                                     .init(op: "Add", inputs: ["x", "m"], outputs: ["y"])],
                             inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)]),
            memoryLockPolicy: .allowUnlocked)
        // Warm-up (not reported): first runs pay for page faults and lazily built state.
        _ = try await serve(CountingEngine(model: fraud, input: "features", assumeIndependentRows: false), input: "features", width: 8,
                            requests: max(1, requests / 4))
        for (name, model, input, width) in [("fraud-detector", fraud, "features", 8), ("reduce-mean-axis0", reduceMean, "x", 4)] {
            print("# \(name): \(model.rowIndependence)")
            var results: [Bool: [(rate: Double, counts: (runs: Int, crossSession: Int, rows: Int))]] = [:]
            for _ in 0..<rounds {
                for before in [true, false] {
                    let engine = CountingEngine(model: model, input: input, assumeIndependentRows: before)
                    let seconds = try await serve(engine, input: input, width: width, requests: requests)
                    results[before, default: []].append((Double(clients * requests) / seconds, engine.counts))
                }
            }
            for before in [true, false] {
                let sorted = results[before, default: []].sorted { $0.rate < $1.rate }
                let (rate, (runs, crossSession, rows)) = sorted[sorted.count / 2]
                func format(_ value: Double) -> String { String(format: "%.0f", value) }
                print("batching model=\(name) policy=\(before ? "before" : "after") clients=\(clients) requests=\(clients * requests) "
                      + "req_per_s=\(format(rate)) (\(format(sorted.first!.rate))…\(format(sorted.last!.rate))) runs=\(runs) "
                      + "cross_session_runs=\(crossSession) rows_per_run=\(String(format: "%.2f", Double(rows) / Double(max(runs, 1))))")
            }
        }
    }

    /// Serves `engine` from an in-process enclave and runs every client's requests; returns the wall time.
    func serve(_ engine: CountingEngine, input: String, width: Int, requests: Int) async throws -> Double {
        let core = EnclaveCore(platform: BenchPlatform())
        await core.beginLoading(modelName: "bench")
        await core.loaded(.init(engine: engine, manifestDigest: SHA2.sha384([1]), modelName: "bench", threads: threads,
                                maxQueue: max(64, clients), maxBatch: maxBatch))
        var sessions: [BenchClient] = []
        for _ in 0..<clients { sessions.append(try await BenchClient.open(core)) }
        let start = DispatchTime.now().uptimeNanoseconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask { [requests] in
                    var client = session
                    // Every value of a client's row is its number, so a run's distinct values count its sessions.
                    var tensor = Enclava_V1_Tensor()
                    tensor.dtype = .float32
                    tensor.shape = [1, Int64(width)]
                    tensor.data = Data(HostTensor(float32: Array(repeating: Float(index + 1), count: width), shape: [1, width]).data)
                    var payload = Enclava_V1_InferPayload()
                    payload.inputs[input] = tensor
                    for _ in 0..<requests {
                        let result = try client.result(try await core.infer(try client.request(payload)).get())
                        guard !result.hasError else { throw BenchError("the enclave refused a request: \(result.error.message)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        await core.stop()
        return seconds
    }
}

/// The served model, counting runs, rows and the sessions in each run (the distinct first values of its
/// rows); "before" claims row independence without a proof, as the runtime effectively did.
final class CountingEngine: InferenceEngine, @unchecked Sendable {
    let model: InferenceModel
    let input: String
    let assumeIndependentRows: Bool
    private let lock = NSLock()
    private var runs = 0, crossSessionRuns = 0, rows = 0

    init(model: InferenceModel, input: String, assumeIndependentRows: Bool) {
        (self.model, self.input, self.assumeIndependentRows) = (model, input, assumeIndependentRows)
    }

    var rowIndependence: BatchRowIndependence {
        assumeIndependentRows ? .uncheckedAssumingIndependentRows("benchmark: the behaviour before issue 8") : model.rowIndependence
    }

    var counts: (runs: Int, crossSession: Int, rows: Int) { lock.withLock { (runs, crossSessionRuns, rows) } }

    func run(_ inputs: [String: HostTensor]) throws -> [String: HostTensor] {
        if let x = inputs[input], let values = x.float32Values, let count = x.shape.first, count > 0 {
            let sessions = Set(stride(from: 0, to: values.count, by: values.count / count).map { values[$0] }).count
            lock.withLock {
                runs += 1
                rows += count
                if sessions > 1 { crossSessionRuns += 1 }
            }
        }
        return try model.run(inputs)
    }
}

/// A platform double for the in-process enclave: evidence is the report data (nothing verifies it here).
struct BenchPlatform: TEEPlatform {
    var backend: String { "bench" }
    var measurement: [UInt8] { [UInt8](repeating: 0, count: 48) }
    var isSimulated: Bool { true }
    func evidence(reportData: [UInt8]) throws -> Evidence {
        Evidence(platform: .sevSNP, blob: reportData + SecureRandom.bytes(count: 8), certificates: [])
    }
    func sealingKey(purpose: String) throws -> SecureBytes { SecureBytes(count: 32) }
}

/// The client side of one session, sealing requests and opening answers as `ConfidentialSession` does.
struct BenchClient: Sendable {
    var sender: HPKE.Sender
    let schedule: SessionKeySchedule
    let sessionID: [UInt8]
    var sequence: UInt64 = 0

    static func open(_ core: EnclaveCore) async throws -> BenchClient {
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(SecureRandom.bytes(count: 32))
        let evidence = try await core.getEvidence(request).get()
        let digest = SHA2.sha384([UInt8](evidence.evidence))
        let sender = try HPKE.Sender(recipientPublicKey: [UInt8](evidence.hpkePublicKey), info: SessionKeySchedule.info(evidenceDigest: digest))
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(digest)
        let session = try await core.openSession(open).get()
        return BenchClient(sender: sender, schedule: try SessionKeySchedule(sender: sender), sessionID: [UInt8](session.sessionID))
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
        let plaintext = try schedule.openResponse([UInt8](response.ciphertext), sessionID: sessionID, sequence: response.sequence)
        return try Enclava_V1_InferResult(serializedBytes: plaintext.unsafeCopyToArray())
    }
}
