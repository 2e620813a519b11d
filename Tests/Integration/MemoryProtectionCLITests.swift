import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// DESIGN.md §5 with the real binaries: `--allow-unlocked-memory` reaches the client (inside the encrypted
/// result, so the bridge cannot hide it) and `enclava infer` says so; hardware backends refuse the flag.
@Suite(.serialized) struct MemoryProtectionCLITests {
    let fixture = CLIFixture.shared

    /// Runs a command with `RLIMIT_MEMLOCK` at 64 KiB and without `CAP_IPC_LOCK` (which would ignore the
    /// limit), as an unprivileged service would run: `prlimit … setpriv --bounding-set=-ipc_lock COMMAND…`.
    static func tightMemlock(_ executable: URL, _ arguments: [String], bytes: Int = 65536) -> (URL, [String]) {
        (URL(fileURLWithPath: "/usr/bin/prlimit"),
         ["--memlock=\(bytes):\(bytes)", "/usr/bin/setpriv", "--bounding-set=-ipc_lock", executable.path] + arguments)
    }

    static var canDropLockCapability: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && getuid() == 0
    }

    /// Starts `enclava serve` on a free port and waits until it is ready.
    func startBridge(extra: [String], memlockBytes: Int? = nil) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        let arguments = ["serve", "--image", fixture.image.path, "--backend", "sim",
                         "--listen", "127.0.0.1:\(port)"] + extra
        let (executable, command) = memlockBytes.map { Self.tightMemlock(fixture.enclava, arguments, bytes: $0) }
            ?? (fixture.enclava, arguments)
        return (try fixture.startServe(command, port: port, executable: executable), port)
    }

    /// Runs one `enclava infer --json` against a bridge started with `extra`; returns the report's
    /// `enclave.memory_unlocked` and infer's stderr.
    func inferReport(serveExtra extra: [String]) throws -> (unlocked: Bool?, stderr: String) {
        let golden = try Golden.load(fixture.root)
        let (serve, port) = try startBridge(extra: extra)
        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        serve.signal(SIGTERM)
        _ = serve.wait(timeout: 30)
        #expect(infer.status == 0, "infer failed: \(infer.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(infer.stdout.utf8)) as? [String: Any])
        let enclave = try #require(report["enclave"] as? [String: Any])
        return (enclave["memory_unlocked"] as? Bool, infer.stderr)
    }

    @Test func unlockedMemoryIsReportedToTheClient() throws {
        let unlocked = try inferReport(serveExtra: ["--allow-unlocked-memory"])
        #expect(unlocked.unlocked == true)
        #expect(unlocked.stderr.contains("warning: the enclave reports that its secrets"), "\(unlocked.stderr)")

        let locked = try inferReport(serveExtra: [])
        #expect(locked.unlocked == false)
        #expect(!locked.stderr.contains("not locked in RAM"), "\(locked.stderr)")
    }

    /// Where key memory cannot be locked, the runtime refuses to start rather than keep keys in swappable
    /// memory, and says what to do.
    @Test(.enabled(if: canDropLockCapability, "needs root, prlimit and setpriv to drop CAP_IPC_LOCK"))
    func withoutLockableMemoryTheRuntimeRefusesToStart() throws {
        let (executable, arguments) = Self.tightMemlock(fixture.runtime, [
            "--backend", "sim", "--listen", "unix:\(fixture.work.path)/tight.sock", "--image", fixture.image.path])
        let result = try TestProcess.run(executable, arguments, environment: fixture.environment, timeout: 60)
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot lock key memory in RAM (RLIMIT_MEMLOCK is 64 KiB"), "\(result.stderr)")
        #expect(result.stderr.contains("--allow-unlocked-memory"), "\(result.stderr)")
    }

    /// With --allow-unlocked-memory and real lock failures, secrets fall back to unlocked pages — and Health
    /// says why (relayed by the bridge), and the client is told inside the encrypted result.
    @Test(.enabled(if: canDropLockCapability, "needs root, prlimit and setpriv to drop CAP_IPC_LOCK"))
    func realLockFailuresAreReported() async throws {
        let golden = try Golden.load(fixture.root)
        let (serve, port) = try startBridge(extra: ["--allow-unlocked-memory"], memlockBytes: 65536)
        defer {
            serve.signal(SIGTERM)
            _ = serve.wait(timeout: 30)
        }
        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(infer.status == 0, "infer failed: \(infer.stderr)")
        #expect(infer.stdout.contains("\"memory_unlocked\": true"), "\(infer.stdout)")

        let client = try await TTRPCClient.connect(to: .tcp(host: "127.0.0.1", port: port))
        let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self,
                                           timeout: .seconds(10))
        await client.close()
        #expect(health.memoryUnlocked)
        #expect(health.memoryMessage.contains("--allow-unlocked-memory"), "\(health.memoryMessage)")
        #expect(health.memoryMessage.contains("key or plaintext memory could not be locked"), "\(health.memoryMessage)")
        #expect(health.memoryMessage.contains("OpenSSL's secure heap could not be locked"), "\(health.memoryMessage)")
    }

    /// A client cannot stop the enclave by sending more plaintext than it can lock: the request is refused
    /// before decryption (SECURE_MEMORY_EXHAUSTED) and the enclave goes on serving.
    @Test(.enabled(if: canDropLockCapability, "needs root, prlimit and setpriv to drop CAP_IPC_LOCK"))
    func aRequestTooLargeToLockIsRefusedAndTheEnclaveLives() throws {
        let golden = try Golden.load(fixture.root)
        let (serve, port) = try startBridge(extra: [], memlockBytes: 8 << 20)
        defer {
            serve.signal(SIGTERM)
            _ = serve.wait(timeout: 30)
        }
        let big = fixture.work.appendingPathComponent("big-\(UUID().uuidString.prefix(6)).json")
        defer { try? FileManager.default.removeItem(at: big) }
        let values = [String](repeating: "0", count: 700_000).joined(separator: ",")
        try Data("{\"dtype\": \"float32\", \"shape\": [1, 700000], \"data\": [\(values)]}".utf8).write(to: big)
        let refused = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                       "--input", "features=@\(big.path)"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("SECURE_MEMORY_EXHAUSTED"),
                "\(refused.stderr)")
        let served = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                      "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(served.status == 0, "the enclave did not survive: \(served.stderr)")
        #expect(served.stdout.contains("\"memory_unlocked\": false"), "\(served.stdout)")
    }

    /// The host cannot unlock a hardware enclave's secrets: refused before any device is opened.
    @Test(arguments: ["sev-snp", "tdx", "sgx"])
    func hardwareBackendsRefuseAllowUnlockedMemory(backend: String) throws {
        let result = try TestProcess.run(fixture.runtime, ["--backend", backend, "--allow-unlocked-memory",
                                                           "--listen", "unix:\(fixture.work.path)/never.sock",
                                                           "--image", fixture.image.path],
                                         environment: fixture.environment, timeout: 60)
        #expect(result.status == 1)
        #expect(result.stderr.contains("--allow-unlocked-memory is for development with --backend sim only"), "\(result.stderr)")
        #expect(result.stderr.contains("the \(backend) backend"), "\(result.stderr)")
    }
}
