import EnclavaClient
import EnclavaWire
import Foundation

/// `enclava-bench load`: many clients against a real `enclava serve` for a fixed time, per model — each client
/// its own attested `ConfidentialSession` over its own TCP connection, sending one request after another.
/// Prints, per model, one `load …` line in key=value form (p50/p99 latency, requests/s, errors by code, the
/// runtime's VmRSS at the start and at the end) and a short table. Errors must be 0 (the command exits 1
/// otherwise); the RSS should stay flat, which is printed for a person to judge (a benchmark, not a test:
/// nothing here asserts a time).
///
/// Usage: enclava-bench load [--clients N] [--duration SECONDS] [--models fraud,minilm] [--threads N]
struct LoadBenchmark {
    var clients = 64
    var duration = 600
    var models = ["fraud", "minilm"]
    var threads: Int?
    var minilmDirectory = "../shared/models/all-MiniLM-L6-v2"

    /// Parses the arguments after `load`, runs, prints and exits the process.
    static func main(_ arguments: [String]) -> Never {
        var bench = LoadBenchmark()
        var rest = arguments[...]
        func refuse(_ message: String) -> Never {
            FileHandle.standardError.write(Data(("enclava-bench load: \(message); use --clients N (1…250), --duration SECONDS (1…86400), "
                                                 + "--models fraud,minilm, --threads N (1…64), --model-dir DIR\n").utf8))
            exit(2)
        }
        func value(_ option: String) -> String {
            guard let value = rest.popFirst() else { refuse("\(option) needs a value") }
            return value
        }
        func number(_ option: String, _ range: ClosedRange<Int>) -> Int {
            let text = value(option)
            guard let number = Int(text), range.contains(number) else { refuse("\(option) \(text) is not a whole number in \(range)") }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--clients": bench.clients = number(argument, 1...250)   // the bridge accepts 256 connections
            case "--duration": bench.duration = number(argument, 1...86_400)
            case "--threads": bench.threads = number(argument, 1...64)
            case "--model-dir": bench.minilmDirectory = value(argument)
            case "--models":
                bench.models = value(argument).split(separator: ",").map(String.init)
                for model in bench.models where LoadModel(name: model, minilmDirectory: "") == nil {
                    refuse("unknown model \(model)")
                }
            default: refuse("unknown option \(argument)")
            }
        }
        BenchMain.run("load") { [bench] in
            try await bench.run()
            return true
        }
    }

    func run() async throws {
        print("# load: \(clients) clients (one session over one TCP connection each) for \(duration) s per model, "
              + "through `enclava serve` (sim) and enclava-runtime; threads=\(threads.map(String.init) ?? "manifest's")")
        var rows: [String] = []
        var failed = false
        for name in models {
            guard let model = LoadModel(name: name, minilmDirectory: minilmDirectory) else { continue }
            let result = try await run(model)
            print(result.line)
            rows.append(result.row)
            failed = failed || result.errorCount > 0
        }
        print("# model          requests  req/s    p50 ms   p99 ms   errors  rss start MiB  rss end MiB")
        for row in rows { print("# " + row) }
        if failed { throw BenchError("some requests failed (errors_by_code above); a served load must answer every request") }
    }

    /// One model: its served world, the clients' sessions, the timed run.
    func run(_ model: LoadModel) async throws -> LoadResult {
        let world = try ServedWorld(manifest: model.manifest, modelDirectory: model.assetRoot, threads: threads)
        defer { world.stop() }
        let endpoint = try TTRPCEndpoint(parsing: "127.0.0.1:\(world.port)")
        var sessions: [ConfidentialSession] = []
        for _ in 0..<clients {
            sessions.append(try await ConfidentialSession.connect(to: endpoint, policy: world.policy, verifier: world.verifier,
                                                                  timeout: .seconds(60)))
        }
        // Warm-up (not counted): one request per client, so that start-up allocations are not counted as growth.
        for session in sessions { _ = try await session.infer(model.inputs, texts: model.texts) }
        let rssStart = try world.runtimePeakRSS().rss
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(duration) * 1_000_000_000
        let start = DispatchTime.now().uptimeNanoseconds
        let outcomes = await withTaskGroup(of: ClientOutcome.self) { group in
            for session in sessions {
                group.addTask {
                    var outcome = ClientOutcome()
                    while DispatchTime.now().uptimeNanoseconds < end {
                        let begin = DispatchTime.now().uptimeNanoseconds
                        do {
                            _ = try await session.infer(model.inputs, texts: model.texts)
                            outcome.latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                        } catch {
                            outcome.errors[LoadBenchmark.code(of: error), default: 0] += 1
                            if !(await session.isUsable) { break }
                        }
                    }
                    return outcome
                }
            }
            var all: [ClientOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rssEnd = try world.runtimePeakRSS().rss
        for session in sessions { await session.close() }
        let latencies = outcomes.flatMap(\.latencies).sorted()
        var errors: [String: Int] = [:]
        for outcome in outcomes { errors.merge(outcome.errors, uniquingKeysWith: +) }
        return LoadResult(model: model.name, clients: clients, seconds: seconds, latencies: latencies, errorsByCode: errors,
                          rssStart: rssStart, rssEnd: rssEnd)
    }

    /// A stable name for a failed call: the RPC code for a remote error, else the client's code.
    static func code(of error: any Error) -> String {
        if let error = error as? ClientError {
            if let rpc = error.rpcError { return rpc.code.name }
            return error.code.rawValue
        }
        if let error = error as? RPCError { return error.code.name }
        return "other"
    }
}

/// What one client saw: the latency of each answered request (ms) and its failures by code.
struct ClientOutcome: Sendable {
    var latencies: [Double] = []
    var errors: [String: Int] = [:]
}

/// A model the load benchmark serves, and the one request each client repeats.
struct LoadModel: Sendable {
    let name: String
    let manifest: String
    let assetRoot: String
    let inputs: [String: Enclava_V1_Tensor]
    let texts: [String]

    init?(name: String, minilmDirectory: String) {
        self.name = name
        switch name {
        case "fraud":
            (manifest, assetRoot) = ("Manifests/fraud-detector/manifest.toml", "Manifests/fraud-detector")
            var tensor = Enclava_V1_Tensor()
            tensor.dtype = .float32
            tensor.shape = [1, 8]
            let row: [Float] = [42.5, 13.0, 0.12, 3.2, 720.0, 2.0, 0.0, 1.0]   // the first row of sample-input.json
            tensor.data = row.withUnsafeBytes { Data($0) }
            (inputs, texts) = (["features": tensor], [])
        case "minilm":
            (manifest, assetRoot) = ("Manifests/minilm.toml", minilmDirectory)
            (inputs, texts) = ([:], ["The quick brown fox jumps over the lazy dog while the enclave keeps the text private."])
        default: return nil
        }
    }
}

/// The figures of one model's run.
struct LoadResult {
    let model: String
    let clients: Int
    let seconds: Double
    let latencies: [Double]
    let errorsByCode: [String: Int]
    let rssStart: Int
    let rssEnd: Int

    /// Failed calls, all codes together (must be 0).
    var errorCount: Int { errorsByCode.values.reduce(0, +) }

    func percentile(_ p: Double) -> Double {
        latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    }

    var line: String {
        let byCode = errorsByCode.isEmpty ? "none" : errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        return "load model=\(model) clients=\(clients) seconds=\(String(format: "%.1f", seconds)) requests=\(latencies.count) "
            + "req_per_s=\(String(format: "%.1f", Double(latencies.count) / seconds)) p50_ms=\(String(format: "%.2f", percentile(0.5))) "
            + "p99_ms=\(String(format: "%.2f", percentile(0.99))) errors=\(errorCount) errors_by_code=\(byCode) "
            + "runtime_rss_start_bytes=\(rssStart) runtime_rss_end_bytes=\(rssEnd) "
            + "rss_growth_pct=\(String(format: "%.1f", (Double(rssEnd) / Double(max(rssStart, 1)) - 1) * 100))"
    }

    var row: String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
        return model.padding(toLength: 15, withPad: " ", startingAt: 0)
            + String(latencies.count).padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(format: "%-9.1f%-9.2f%-9.2f", Double(latencies.count) / seconds, percentile(0.5), percentile(0.99))
            + String(errorCount).padding(toLength: 8, withPad: " ", startingAt: 0)
            + mib(rssStart).padding(toLength: 15, withPad: " ", startingAt: 0) + mib(rssEnd)
    }
}
