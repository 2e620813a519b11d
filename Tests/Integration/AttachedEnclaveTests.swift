import EnclavaTesting
import Foundation
import Testing

/// Issue 11: `enclava serve --enclave hvsock:…` relays to an `enclava-runtime` someone else launched, here behind a
/// fake Firecracker-style VMM (these machines have no vsock loopback), with the real CLI and processes.
@Suite(.serialized) struct AttachedEnclaveTests {
    let fixture = CLIFixture.shared

    func startRuntime(socket: String) throws -> TestProcess {
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)",
                                                    "--image", fixture.image.path, "--sim-home", fixture.home.path],
                                  environment: fixture.environment)
        try runtime.start()
        return runtime
    }

    @Test func serveAttachesThroughHybridVsockAndFollowsARuntimeRestart() throws {
        let golden = try Golden.load(fixture.root)
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-attach")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("guest-1024").path
        let muxer = try FakeHybridVsockMuxer(path: folder.appendingPathComponent("vmm.sock").path)
        defer { muxer.stop() }
        muxer.listen(port: 1024, unixPath: socket)
        var runtime = try startRuntime(socket: socket)
        defer { runtime.signal(SIGTERM); _ = runtime.wait(timeout: 30) }

        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--enclave", "hvsock:\(muxer.path):1024", "--image", fixture.image.path,
                                            "--listen", "127.0.0.1:\(port)"], port: port)
        let infer = { try self.fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", self.fixture.policy.path,
                                            "--input", "features=\(golden.featuresJSON)", "--json"]) }
        let first = try infer()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("probabilities"))

        // The runtime restarts (its VMM relaunched it): the bridge says so once, then relays again.
        runtime.signal(SIGTERM)
        _ = runtime.wait(timeout: 30)
        let noticed = Date().addingTimeInterval(30)
        while !serve.stderrSoFar.contains("the attached enclave stopped answering") && Date() < noticed { usleep(50_000) }
        let during = try infer()
        #expect(during.status != 0)
        #expect(during.stderr.contains("the enclave at hvsock:\(muxer.path):1024 is not answering"), "\(during.stderr)")
        runtime = try startRuntime(socket: socket)
        var second = try infer()
        let deadline = Date().addingTimeInterval(60)
        while second.status != 0 && Date() < deadline {
            usleep(200_000)
            second = try infer()
        }
        #expect(second.status == 0, "\(second.stderr)")
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout.contains("attached to hvsock:\(muxer.path):1024"), "\(served.stdout)")
        #expect(served.stderr.contains("the attached enclave stopped answering"), "\(served.stderr)")
        #expect(served.stderr.contains("the attached enclave is ready again"), "\(served.stderr)")
        #expect(muxer.connectLines.allSatisfy { $0 == "CONNECT 1024" })
    }

    @Test(arguments: [
        (["--enclave", "vsock:2:1024"], "vsock CIDs 0, 1 and 2 are the hypervisor, local loopback and the host itself"),
        (["--enclave", "127.0.0.1:9000"], "an enclave is never reached over TCP"),
        (["--enclave", "hvsock:1024"], "is not vsock:CID:PORT, hvsock:UDS_PATH:PORT or unix:PATH"),
        (["--enclave", "unix:/x.sock", "--sim-home", "/tmp"], "--sim-home applies only when serve launches the enclave"),
        (["--enclave", "unix:/x.sock", "--connect-timeout", "0"], "--connect-timeout must be 1…600 seconds, got 0"),
        ([String](), "say which enclave to serve: --image X.eimg (launch it) or --enclave ADDRESS"),
    ])
    func badAttachFlagsAreNamed(flags: [String], message: String) throws {
        let result = try fixture.run(["serve", "--listen", "127.0.0.1:1"] + flags)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
