import CEnclaveEdge
import EnclavaTesting
import Foundation
import Testing

/// Issue 11: `enclava serve --enclave ocall:LIB --image X.eimg` loads the trusted runtime built as a shared library
/// (`libEnclavaEnclave.so`) into the bridge process and relays every client frame as one ecall — the real CLI, the
/// real library and a real client (`enclava infer`) attesting, opening a session and running the fraud detector.
@Suite(.serialized) struct OcallServeTests {
    let fixture = CLIFixture.shared
    var library: URL { fixture.bin.appendingPathComponent("libEnclavaEnclave.so") }

    /// An image sealed for the library's measurement (what the simulated platform measures in-process) and a
    /// policy pinning that measurement.
    func sealedForLibrary(in folder: URL) throws -> (image: String, policy: String) {
        let image = folder.appendingPathComponent("fraud-ocall.eimg").path
        let policy = folder.appendingPathComponent("policy-ocall.json").path
        _ = try fixture.expectSuccess(["package", "--manifest", fixture.demoDir.appendingPathComponent("manifest.toml").path,
                                       "--signer", fixture.signer.path, "--out", image, "--seal-for", "sim",
                                       "--runtime", library.path])
        _ = try fixture.expectSuccess(["policy", "create", "--image", image, "--runtime", library.path, "--allow-simulation",
                                       "--out", policy])
        return (image, policy)
    }

    @Test func serveRelaysClientsThroughTheInProcessEdge() throws {
        let golden = try Golden.load(fixture.root)
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-ocall")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (image, policy) = try sealedForLibrary(in: folder)
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--enclave", "ocall:\(library.path)", "--image", image,
                                            "--listen", "127.0.0.1:\(port)", "--log-level", "info"], port: port)
        defer { serve.signal(SIGKILL) }
        let infer = { try self.fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy,
                                            "--input", "features=\(golden.featuresJSON)", "--json"]) }
        // Two clients one after the other, each attesting and opening its own session on its own enclave connection.
        for _ in 0..<2 {
            let result = try infer()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("probabilities"), "\(result.stdout)")
        }
        // The policy of the launched runtime pins another measurement: the library is what is measured.
        let other = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(other.status != 0)
        #expect(other.stderr.contains("measurement"), "\(other.stderr)")
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout.contains("in-process (ocall:\(library.path), snp evidence)"), "\(served.stdout)")
        #expect(served.stderr.contains("the in-process enclave is ready"), "\(served.stderr)")
        #expect(served.stderr.contains("enclave: image verified"), "the enclave's log comes through the log ocall")
        #expect(served.stderr.contains("the in-process enclave acknowledged Shutdown"), "\(served.stderr)")
    }

    @Test func badLibrariesAreNamedInOneLine() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-ocall-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("not-a-library.so")
        try Data("hello\n".utf8).write(to: text)
        let libc = try #require(Self.libcPath())
        let cases: [([String], String)] = [
            (["--enclave", "ocall:\(folder.path)/missing.so", "--image", fixture.image.path], "no readable file there"),
            (["--enclave", "ocall:", "--image", fixture.image.path], "--enclave ocall:LIB needs the enclave library's path"),
            (["--enclave", "ocall:\(library.path)"], "needs --image X.eimg"),
            (["--enclave", "ocall:\(text.path)", "--image", fixture.image.path], "cannot load the enclave library \(text.path)"),
            (["--enclave", "ocall:\(libc)", "--image", fixture.image.path],
             "does not export enclava_enclave_abi_version: it is not an Enclava enclave library"),
            (["--enclave", "ocall:\(library.path)", "--image", fixture.image.path, "--state-dir", folder.path],
             "--state-dir is not supported with --enclave ocall:"),
        ]
        for (flags, message) in cases {
            let result = try fixture.run(["serve", "--listen", "127.0.0.1:\(TestProcess.freeTCPPort())"] + flags)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
    }

    @Test func anImageSealedForAnotherMeasurementIsRefusedByTheEnclave() throws {
        // The fixture's image is sealed for enclava-runtime, not for the library.
        let result = try fixture.run(["serve", "--enclave", "ocall:\(library.path)", "--image", fixture.image.path,
                                      "--listen", "127.0.0.1:\(TestProcess.freeTCPPort())"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("LAUNCH_FAILED"), "\(result.stderr)")
        #expect(result.stderr.contains("sealed for runtime measurement"), "\(result.stderr)")
    }

    /// The file of the C library this process runs on (found from one of its symbols: /proc/self/maps is closed
    /// once a test has loaded the enclave library, which makes this process non-dumpable).
    static func libcPath() -> String? {
        guard let strlen = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "strlen"),
              let path = enclava_edge_library_path(strlen) else { return nil }
        return String(cString: path)
    }
}
