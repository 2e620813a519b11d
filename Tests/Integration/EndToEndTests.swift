import EnclavaTesting
import Foundation
import Testing

/// package → serve → infer with the real `enclava` and `enclava-runtime` processes over real sockets.
@Suite(.serialized) struct EndToEndTests {
    let fixture = CLIFixture.shared

    /// Starts `enclava serve` on a free port and waits until it accepts connections.
    func startBridge(extra: [String] = []) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", fixture.image.path, "--backend", "sim",
                                            "--listen", "127.0.0.1:\(port)"] + extra, port: port)
        return (serve, port)
    }

    @Test func packageServeInferMatchesGoldenAndRelaysOnlyCiphertext() throws {
        let golden = try Golden.load(fixture.root)
        let traffic = fixture.work.appendingPathComponent("traffic-\(UUID().uuidString.prefix(6)).bin")
        // The signer pinned as an operator would: the fingerprint `enclava inspect` prints.
        let inspected = try fixture.run(["inspect", fixture.image.path, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        let fingerprint = try #require(summary?["signer_fingerprint"] as? String)
        let (serve, port) = try startBridge(extra: ["--record-traffic", traffic.path, "--signer-fingerprint", fingerprint,
                                                    "--log-requests"])

        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(infer.status == 0, "infer failed: \(infer.stderr)")
        #expect(served.status == 0, "serve did not shut down cleanly: \(served.stderr)")
        #expect(!served.stderr.contains("no --signer-fingerprint given"), "the pin did not reach the runtime")
        // --log-requests: one line per call, metadata only.
        for method in ["GetEvidence", "OpenSession", "Infer"] {
            #expect(served.stderr.contains("request method=\(method) stream="), "no request line for \(method): \(served.stderr)")
        }
        #expect(served.stderr.contains("status=OK ms="), "\(served.stderr)")
        #expect(served.stdout.contains("enclava serve: ready on 127.0.0.1:"), "the ready line goes to stdout: \(served.stdout)")

        let report = try #require(try JSONSerialization.jsonObject(with: Data(infer.stdout.utf8)) as? [String: Any])
        let outputs = try #require(report["outputs"] as? [String: Any])
        let probabilities = try #require(outputs["probabilities"] as? [String: Any])
        #expect(probabilities["dtype"] as? String == "float32")
        #expect(probabilities["shape"] as? [Int] == golden.probabilitiesShape)
        let values = try #require(probabilities["data"] as? [NSNumber]).map(\.floatValue)
        try #require(values.count == golden.probabilities.count)
        for (got, want) in zip(values, golden.probabilities) { #expect(abs(got - want) <= 1e-5) }
        let enclave = try #require(report["enclave"] as? [String: Any])
        #expect(enclave["platform"] as? String == "sev-snp")
        #expect(enclave["simulated"] as? Bool == true)
        #expect((enclave["measurement"] as? String)?.count == 96)
        #expect((enclave["manifest_digest"] as? String)?.count == 96)

        // Everything the bridge relayed, both directions: the service name is there (it is metadata),
        // the input features and the decrypted outputs are not — not even two floats in a row.
        let recorded = [UInt8](try Data(contentsOf: traffic))
        #expect(recorded.count > 1000)
        #expect(ByteSearch.contains(recorded, Array("enclava.v1.Enclave".utf8)))
        // (Runs of zero bytes are everywhere in evidence and certificates, so all-zero windows prove nothing.)
        let inputLeaks = ByteSearch.floatWindows(golden.features, width: 2)
            .filter { $0.contains { $0 != 0 } && ByteSearch.contains(recorded, $0) }
        let outputLeaks = ByteSearch.floatWindows(values, width: 2)
            .filter { $0.contains { $0 != 0 } && ByteSearch.contains(recorded, $0) }
        #expect(inputLeaks.isEmpty, "input bytes leaked into relayed traffic: \(inputLeaks)")
        #expect(outputLeaks.isEmpty, "output bytes leaked into relayed traffic: \(outputLeaks)")
        #expect(!ByteSearch.floatWindows(golden.features, width: 2).filter { $0.contains { $0 != 0 } }.isEmpty)
    }

    @Test func runAllInOneMatchesGolden() throws {
        let golden = try Golden.load(fixture.root)
        let result = try fixture.run(["run", "--sim", "--image", fixture.image.path,
                                      "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(result.status == 0, "run failed: \(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let outputs = try #require(report["outputs"] as? [String: Any])
        let probabilities = try #require(outputs["probabilities"] as? [String: Any])
        let values = try #require(probabilities["data"] as? [NSNumber]).map(\.floatValue)
        try #require(values.count == golden.probabilities.count)
        for (got, want) in zip(values, golden.probabilities) { #expect(abs(got - want) <= 1e-5) }
    }

    @Test func hostileFramesAreRefusedAndOtherClientsKeepBeingServed() throws {
        let golden = try Golden.load(fixture.root)
        let (serve, port) = try startBridge()
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }

        // A 9 MiB frame (the limit is 4 MiB): its payload is discarded as it streams in, never buffered,
        // then the stream is answered RESOURCE_EXHAUSTED (8).
        let oversized = try RawSocket(port: port)
        try oversized.send(RawSocket.frameHeader(length: 9 << 20, streamID: 1, type: 1) + [UInt8](repeating: 0x41, count: 9 << 20))
        let answer = try oversized.receive(atLeast: 10, timeout: 20)
        try #require(answer.count >= 10)
        #expect(answer[8] == 2, "expected a response frame")
        #expect(ByteSearch.statusCode(inResponseFrame: answer) == 8)

        // Garbage: this connection is closed, nothing else notices.
        let garbage = try RawSocket(port: port)
        try garbage.send([UInt8](repeating: 0xFF, count: 64))
        #expect(garbage.waitForClose(timeout: 10))

        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(infer.status == 0, "a well-behaved client was affected: \(infer.stderr)")
    }

    @Test func runtimeRefusesHostileFramesAndKeepsServing() throws {
        let golden = try Golden.load(fixture.root)
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-rt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("enclave.sock").path
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)",
                                                    "--image", fixture.image.path, "--sim-home", fixture.home.path],
                                  environment: fixture.environment)
        try runtime.start()
        defer { runtime.signal(SIGTERM); _ = runtime.wait(timeout: 30) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && (try? RawSocket(unixPath: socket)) == nil {
            try #require(runtime.process.isRunning, "runtime exited: \(runtime.stderrSoFar)")
            usleep(100_000)
        }

        let oversized = try RawSocket(unixPath: socket)
        try oversized.send(RawSocket.frameHeader(length: 9 << 20, streamID: 1, type: 1) + [UInt8](repeating: 0x41, count: 9 << 20))
        let answer = try oversized.receive(atLeast: 10, timeout: 20)
        #expect(ByteSearch.statusCode(inResponseFrame: answer) == 8, "expected RESOURCE_EXHAUSTED from the runtime")

        let garbage = try RawSocket(unixPath: socket)
        try garbage.send([0, 0, 0, 4, 0, 0, 0, 1, 0x7F, 0] + [UInt8](repeating: 0xEE, count: 60))
        #expect(garbage.waitForClose(timeout: 10))

        // The policy pins the same image and runtime, so a direct client (no bridge) is served as before.
        let infer = try fixture.run(["infer", "--endpoint", "unix:\(socket)", "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(infer.status == 0, "a well-behaved client was affected: \(infer.stderr)")
        #expect(runtime.process.isRunning)
    }
}
