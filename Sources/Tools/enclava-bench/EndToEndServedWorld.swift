import EnclavaAttestation
import Foundation

/// The served side of `enclava-bench end-to-end`, `load` and `faults`, made with the real CLI beside this
/// executable: a simulated platform in a temporary `ENCLAVA_HOME`, an image (MiniLM, the fraud detector…)
/// packaged with `--asset-root` (the manifest's `[runtime] threads` set to the benchmark's when given), its
/// policy, and `enclava serve` on a free port.
final class ServedWorld {
    let directory: URL
    let port: Int
    let policy: AttestationPolicy
    let verifier: EvidenceVerifier
    /// The packaged image `enclava serve` runs (the runtime's command line names it).
    let imagePath: String
    let serve: Process
    private let serveLog: URL

    /// - Parameters:
    ///   - manifest: the manifest to package.
    ///   - modelDirectory: its `--asset-root`.
    ///   - threads: replaces the manifest's `threads =` line; `nil` keeps the manifest's.
    init(manifest: String, modelDirectory: String, threads: Int?) throws {
        let bin = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        let enclava = bin.appendingPathComponent("enclava")
        guard FileManager.default.isExecutableFile(atPath: enclava.path),
              FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("enclava-runtime").path) else {
            throw BenchError("build enclava and enclava-runtime beside enclava-bench (ENCLAVA_ONLY=enclava-bench,enclava,enclava-runtime)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-bench-e2e-\(UUID().uuidString.prefix(8))")
        directory = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let home = folder.appendingPathComponent("home").path
        let environment = ProcessInfo.processInfo.environment.merging(["ENCLAVA_HOME": home]) { $1 }
        func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if let threads, line.hasPrefix("threads =") { return "threads = \(threads)" }
            return String(line)
        }
        try lines.joined(separator: "\n").write(toFile: file("image.toml"), atomically: true, encoding: .utf8)
        let assetRoot = URL(fileURLWithPath: modelDirectory).standardizedFileURL.path
        imagePath = file("image.eimg")
        for arguments in [["sim", "init"], ["keygen", "--out", file("signer.pem")],
                          ["package", "--manifest", file("image.toml"), "--asset-root", assetRoot, "--signer", file("signer.pem"),
                           "--out", file("image.eimg"), "--seal-for", "sim"],
                          ["policy", "create", "--image", file("image.eimg"), "--allow-simulation", "--out", file("policy.json")]] {
            try Self.runToCompletion(enclava, arguments, environment: environment)
        }
        policy = try AttestationPolicy.load(path: file("policy.json"))
        verifier = EvidenceVerifier(simulatedRoots: try SimulatedPlatform.load(home: home).simulatedRoots())

        port = Self.freePort()
        let serveLog = folder.appendingPathComponent("serve.log")
        self.serveLog = serveLog
        _ = FileManager.default.createFile(atPath: serveLog.path, contents: nil)
        let serve = Process()
        self.serve = serve
        serve.executableURL = enclava
        serve.arguments = ["serve", "--image", file("image.eimg"), "--backend", "sim", "--listen", "127.0.0.1:\(port)"]
        serve.environment = environment
        let log = try FileHandle(forWritingTo: serveLog)
        serve.standardError = log
        serve.standardOutput = log
        try serve.run()
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            let log = (try? String(contentsOf: serveLog, encoding: .utf8)) ?? ""
            if log.contains("enclava serve: ready") { return }   // printed once the enclave is ready
            guard serve.isRunning else { throw BenchError("enclava serve exited: \(log.suffix(2000))") }
            usleep(100_000)
        }
        serve.terminate()
        throw BenchError("enclava serve did not become ready in 300 s")
    }

    /// The process id of the `enclava-runtime` child of the bridge, if one runs.
    func runtimePID() -> Int32? {
        let bridge = serve.processIdentifier
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == bridge, stat.contains("(enclava-runtim") else { continue }
            return pid
        }
        return nil
    }

    /// The ids of every process whose command line mentions ``imagePath`` (the bridge and its enclave).
    func processesNamingImage() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry),
                  let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let text = String(decoding: line.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return text.contains(imagePath) ? pid : nil
        }
    }

    /// The bridge's last log lines (for a failure report).
    func logTail(_ count: Int = 1500) -> String {
        String(((try? String(contentsOf: serveLog, encoding: .utf8)) ?? "").suffix(count))
    }

    /// VmHWM (peak resident set) and VmRSS of the `enclava-runtime` child of the bridge, in bytes.
    func runtimePeakRSS() throws -> (hwm: Int, rss: Int) {
        let bridge = serve.processIdentifier
        if let pid = runtimePID() {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            func kilobytes(_ key: String) -> Int {
                let line = status.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
                return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
            }
            return (kilobytes("VmHWM:"), kilobytes("VmRSS:"))
        }
        throw BenchError("no enclava-runtime child of the bridge (pid \(bridge)) found in /proc")
    }

    /// Stops the bridge (which stops the enclave) and removes the temporary folder.
    func stop() {
        if serve.isRunning {
            serve.interrupt()
            serve.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func runToCompletion(_ executable: URL, _ arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = executable
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

    /// A TCP port nothing listens on right now (bind to port 0, read it back, close).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
