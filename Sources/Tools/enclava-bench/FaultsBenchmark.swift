import EnclavaClient
import EnclavaWire
import Foundation

/// `enclava-bench faults`: what an operator's faults do to a real `enclava serve` (sim) serving MiniLM, with
/// real clients over TCP. Prints `PASS`/`FAIL` per scenario with what happened, and exits 1 if any
/// expectation fails:
///
/// 1. `kill -9` the runtime while a request is in flight: that client gets `UNAVAILABLE`, and after the bridge
///    restarts the enclave a new session's request is served.
/// 2. `SIGSTOP` the runtime: a client's request (3 s deadline) gets `DEADLINE_EXCEEDED`, and a `Health` probe
///    relayed by the bridge does not say ready (it times out); then `SIGCONT`, and requests are served again.
/// 3. A client that sends requests with large answers (`GetEvidence`) and never reads: other clients are
///    served meanwhile, and the runtime grows by less than 256 MiB (the unread answers do not pile up).
/// 4. `kill -9` the bridge: no process naming the image (the enclave) survives it.
///
/// Usage: enclava-bench faults [--model-dir DIR] [--stuck-seconds N]
struct FaultsBenchmark {
    var minilmDirectory = "../shared/models/all-MiniLM-L6-v2"
    var stuckSeconds = 15

    /// Parses the arguments after `faults`, runs, prints and exits the process.
    static func main(_ arguments: [String]) -> Never {
        var bench = FaultsBenchmark()
        var rest = arguments[...]
        func refuse(_ message: String) -> Never {
            FileHandle.standardError.write(Data("enclava-bench faults: \(message); use --model-dir DIR, --stuck-seconds N (1…600)\n".utf8))
            exit(2)
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--model-dir":
                guard let value = rest.popFirst() else { refuse("--model-dir needs a value") }
                bench.minilmDirectory = value
            case "--stuck-seconds":
                guard let text = rest.popFirst(), let value = Int(text), (1...600).contains(value) else {
                    refuse("--stuck-seconds needs a whole number in 1…600")
                }
                bench.stuckSeconds = value
            default: refuse("unknown option \(argument)")
            }
        }
        BenchMain.run("faults") { [bench] in try await bench.run() }
    }

    /// Runs every scenario against one served world; `true` when all passed.
    func run() async throws -> Bool {
        print("# faults: enclava serve (sim) + enclava-runtime serving MiniLM (Manifests/minilm.toml), clients over TCP")
        let world = try ServedWorld(manifest: "Manifests/minilm.toml", modelDirectory: minilmDirectory, threads: nil)
        defer { world.stop() }
        let faults = FaultScenarios(world: world, stuckSeconds: stuckSeconds)
        var results: [FaultResult] = []
        for index in 0..<4 {
            let result: FaultResult
            switch index {
            case 0: result = await faults.killRuntimeMidRequest()
            case 1: result = await faults.stopRuntime()
            case 2: result = await faults.stuckReader()
            default: result = await faults.killBridge()
            }
            print("faults scenario=\(result.name) result=\(result.passed ? "PASS" : "FAIL") — \(result.detail)")
            results.append(result)
        }
        let failed = results.filter { !$0.passed }.count
        print("# faults: \(results.count - failed) passed, \(failed) failed")
        if failed > 0 { print("# bridge log tail:\n" + world.logTail()) }
        return failed == 0
    }
}

/// The outcome of one fault scenario.
struct FaultResult: Sendable {
    let name: String
    let passed: Bool
    let detail: String
}
