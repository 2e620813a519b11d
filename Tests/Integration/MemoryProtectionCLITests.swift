import EnclavaTesting
import Foundation
import Testing

/// DESIGN.md §5 with the real binaries: `--allow-unlocked-memory` reaches the client (inside the encrypted
/// result, so the bridge cannot hide it) and `enclava infer` says so; hardware backends refuse the flag.
@Suite(.serialized) struct MemoryProtectionCLITests {
    let fixture = CLIFixture.shared

    /// Starts `enclava serve` on a free port and waits until it is ready.
    func startBridge(extra: [String]) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        let serve = TestProcess(fixture.enclava, ["serve", "--image", fixture.image.path, "--backend", "sim",
                                                  "--listen", "127.0.0.1:\(port)"] + extra,
                                environment: fixture.environment)
        try serve.start()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if RawSocket.canConnect(port: port) && serve.stderrSoFar.contains("ready") { return (serve, port) }
            if !serve.process.isRunning {
                throw CLIFixture.FixtureError("enclava serve exited early: \(serve.wait().stderr)")
            }
            usleep(100_000)
        }
        serve.signal(SIGKILL)
        throw CLIFixture.FixtureError("enclava serve did not become ready: \(serve.stderrSoFar)")
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
