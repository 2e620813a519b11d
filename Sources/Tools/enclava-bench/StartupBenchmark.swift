import EnclavaWire
import Foundation

/// `enclava-bench startup`: launch to ready for MiniLM through the real `enclava serve` (sim) and enclava-runtime,
/// per way the model key arrives (DESIGN.md §7):
///
/// * `sim`: the key sealed in the image for the simulator (`--seal-for sim`), the start of before issue 10;
/// * `owner`: `enclava serve`, then `enclava provision` (the owner's CLI verifies the evidence and sends the key);
/// * `broker`: `enclava serve --key-broker` with `enclava keybroker serve` running: the enclave asks for its key;
/// * `sealed`: the same broker image restarted with `--state-dir` holding its sealed state (the broker stopped).
///
/// Each round launches `enclava serve` and stops at the first `Health` that says ready (for `owner`: when
/// `enclava provision` has returned, which answers once the model is loaded). Prints the median and the best
/// round per mode. A benchmark, not a test: nothing here asserts a time.
///
/// Usage: enclava-bench startup [--model-dir DIR] [--rounds N]
struct StartupBenchmark {
    var minilmDirectory = "../shared/models/all-MiniLM-L6-v2"
    var rounds = 3

    /// Parses the arguments after `startup`, runs, prints and exits the process.
    static func main(_ arguments: [String]) -> Never {
        var bench = StartupBenchmark()
        var rest = arguments[...]
        func refuse(_ message: String) -> Never {
            FileHandle.standardError.write(Data("enclava-bench startup: \(message); use --model-dir DIR, --rounds N (1…50)\n".utf8))
            exit(2)
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--model-dir":
                guard let value = rest.popFirst() else { refuse("--model-dir needs a value") }
                bench.minilmDirectory = value
            case "--rounds":
                guard let text = rest.popFirst(), let value = Int(text), (1...50).contains(value) else {
                    refuse("--rounds needs a whole number in 1…50")
                }
                bench.rounds = value
            default: refuse("unknown option \(argument)")
            }
        }
        BenchMain.run("startup") { [bench] in try await bench.run() }
    }

    func run() async throws -> Bool {
        print("# startup: launch of `enclava serve` (sim) to a ready MiniLM enclave (Manifests/minilm.toml), per key "
              + "release; \(rounds) round(s) each, milliseconds")
        let world = try StartupWorld(manifest: "Manifests/minilm.toml", modelDirectory: minilmDirectory)
        defer { world.stop() }
        var results: [(String, [Double])] = []
        results.append(("sim (key sealed in the image)", try await measure { try await world.startSealedInImage() }))
        results.append(("owner (serve, then enclava provision)", try await measure { try await world.startOwner() }))
        results.append(("broker (the enclave asks keybroker serve)", try await measure { try await world.startBroker() }))
        results.append(("sealed restart (broker stopped)", try await measure { try await world.startFromSealedState() }))
        for (mode, times) in results {
            let sorted = times.sorted()
            print(String(format: "startup mode=%@ median_ms=%.0f best_ms=%.0f rounds=%d", mode, sorted[sorted.count / 2],
                         sorted[0], sorted.count))
        }
        return true
    }

    /// `rounds` timings of `start` in milliseconds.
    private func measure(_ start: () async throws -> Duration) async throws -> [Double] {
        var times: [Double] = []
        for _ in 0..<rounds {
            let elapsed = try await start()
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return times
    }
}

/// The images, policies, key broker and state folder of `enclava-bench startup`, made with the real CLI beside
/// this executable in a temporary `ENCLAVA_HOME`.
final class StartupWorld: @unchecked Sendable {
    let directory: URL
    let enclava: URL
    let environment: [String: String]
    private var broker: Process?
    private var brokerPort = 0

    init(manifest: String, modelDirectory: String) throws {
        let bin = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        enclava = bin.appendingPathComponent("enclava")
        guard FileManager.default.isExecutableFile(atPath: enclava.path),
              FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("enclava-runtime").path) else {
            throw BenchError("build enclava and enclava-runtime beside enclava-bench (ENCLAVA_ONLY=enclava-bench,enclava,enclava-runtime)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-bench-startup-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        environment = ProcessInfo.processInfo.environment.merging(["ENCLAVA_HOME": directory.appendingPathComponent("home").path]) { $1 }
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let assetRoot = URL(fileURLWithPath: modelDirectory).standardizedFileURL.path
        try run(["sim", "init"])
        try run(["keygen", "--out", file("signer.pem")])
        for release in ["sealed", "owner", "broker"] {
            try text.replacingOccurrences(of: "release = \"sealed\"", with: "release = \"\(release)\"")
                .write(toFile: file("\(release).toml"), atomically: true, encoding: .utf8)
            let keying = release == "sealed" ? ["--seal-for", "sim"] : ["--owner-key-out", file("\(release).key")]
            try run(["package", "--manifest", file("\(release).toml"), "--asset-root", assetRoot, "--signer", file("signer.pem"),
                     "--out", file("\(release).eimg")] + keying)
            try run(["policy", "create", "--image", file("\(release).eimg"), "--allow-simulation",
                     "--out", file("\(release)-policy.json")])
        }
        try run(["keybroker", "init", "--store", file("store")])
        try run(["keybroker", "add", "--store", file("store"), "--image", file("broker.eimg"), "--owner-key", file("broker.key"),
                 "--policy", file("broker-policy.json")])
    }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `--seal-for sim`: serve → ready.
    func startSealedInImage() async throws -> Duration {
        try await timedStart(["--image", file("sealed.eimg")]) { _ in }
    }

    /// `release = "owner"`: serve → waiting → `enclava provision` → ready.
    func startOwner() async throws -> Duration {
        try await timedStart(["--image", file("owner.eimg")]) { port in
            try self.run(["provision", "--endpoint", "127.0.0.1:\(port)", "--policy", self.file("owner-policy.json"),
                          "--owner-key", self.file("owner.key")])
        }
    }

    /// `release = "broker"` with the broker up and no sealed state: serve → the enclave asks → ready.
    func startBroker() async throws -> Duration {
        try startKeyBroker()
        try? FileManager.default.removeItem(atPath: file("state"))
        return try await timedStart(["--image", file("broker.eimg"), "--key-broker", "127.0.0.1:\(brokerPort)",
                                     "--state-dir", file("state")]) { _ in }
    }

    /// The broker image restarted from the sealed state its last release left, with the broker stopped.
    func startFromSealedState() async throws -> Duration {
        if (try? FileManager.default.contentsOfDirectory(atPath: file("state")))?.isEmpty ?? true {
            _ = try await startBroker()
        }
        stopKeyBroker()
        return try await timedStart(["--image", file("broker.eimg"), "--key-broker", "127.0.0.1:\(max(brokerPort, 1))",
                                     "--state-dir", file("state")]) { _ in }
    }

    /// Launches `enclava serve ARGS`, runs `release` once it listens, and returns the time from launch to the first
    /// Health that says ready; the serve is stopped before returning.
    private func timedStart(_ arguments: [String], release: @escaping (Int) throws -> Void) async throws -> Duration {
        let port = ServedWorld.freePort()
        let serve = Process()
        serve.executableURL = enclava
        serve.arguments = ["serve", "--backend", "sim", "--listen", "127.0.0.1:\(port)"] + arguments
        serve.environment = environment
        let output = Pipe()
        serve.standardOutput = output
        serve.standardError = FileHandle.nullDevice
        let clock = ContinuousClock()
        let started = clock.now
        try serve.run()
        defer {
            if serve.isRunning { serve.interrupt(); serve.waitUntilExit() }
        }
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready on") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw BenchError("enclava serve \(arguments.joined(separator: " ")) exited before it was ready") }
            seen.append(chunk)
        }
        try release(port)
        let client = try await TTRPCClient.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { Task { await client.close() } }
        let deadline = clock.now + .seconds(300)
        while clock.now < deadline {
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self,
                                               timeout: .seconds(10))
            if health.state == .ready { return clock.now - started }
            if health.state == .failed { throw BenchError("the enclave failed: \(health.message)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchError("the enclave was not ready within 300 s")
    }

    private func startKeyBroker() throws {
        guard broker == nil else { return }
        brokerPort = ServedWorld.freePort()
        let process = Process()
        process.executableURL = enclava
        process.arguments = ["keybroker", "serve", "--store", file("store"), "--listen", "127.0.0.1:\(brokerPort)",
                             "--log-level", "warning"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready on") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw BenchError("enclava keybroker serve exited before it was ready") }
            seen.append(chunk)
        }
        broker = process
    }

    private func stopKeyBroker() {
        guard let broker else { return }
        if broker.isRunning { broker.interrupt(); broker.waitUntilExit() }
        self.broker = nil
    }

    /// Stops the broker and removes the folder.
    func stop() {
        stopKeyBroker()
        try? FileManager.default.removeItem(at: directory)
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = enclava
        process.arguments = arguments
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("enclava \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
