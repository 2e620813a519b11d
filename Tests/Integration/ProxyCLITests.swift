import EnclavaAttestation
import EnclavaTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `enclava proxy` with the real binaries and a real HTTP client (URLSession): it attests before it listens, then
/// answers OpenAI's `/v1/embeddings` and the CLI's `/v1/infer` through encrypted sessions, picking the image by
/// `model`; errors are OpenAI's shape with stable codes.
@Suite(.serialized) struct ProxyCLITests {
    let fixture = CLIFixture.shared

    /// Starts `enclava proxy` on a free port; returns once its ready line is out and the port accepts connections.
    func startProxy(bridgePort: Int, policy: URL, extra: [String] = []) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        let proxy = TestProcess(fixture.enclava, ["proxy", "--endpoint", "127.0.0.1:\(bridgePort)", "--policy", policy.path,
                                                  "--listen", "127.0.0.1:\(port)"] + extra, environment: fixture.environment)
        try proxy.start()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if proxy.stdoutSoFar.contains("enclava proxy: ready on") && RawSocket.canConnect(port: port) { return (proxy, port) }
            if !proxy.process.isRunning { throw CLIFixture.FixtureError("enclava proxy exited early: \(proxy.wait().stderr)") }
            usleep(100_000)
        }
        proxy.signal(SIGKILL)
        throw CLIFixture.FixtureError("enclava proxy did not become ready: \(proxy.stderrSoFar)")
    }

    /// POSTs `body` to the proxy; returns the status and the JSON object answered.
    func post(_ port: Int, _ path: String, _ body: Data) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        request.timeoutInterval = 120
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not JSON: \(String(decoding: data, as: UTF8.self))")
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }

    func post(_ port: Int, _ path: String, json: [String: Any]) async throws -> (Int, [String: Any]) {
        try await post(port, path, try JSONSerialization.data(withJSONObject: json))
    }

    func errorCode(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["code"] as? String }

    func fraudRequest(model: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixture.root.appendingPathComponent("Manifests/fraud-detector/golden.json"))
        let golden = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return ["model": model, "inputs": try #require(golden["inputs"])]
    }

    @Test func tensorModelsAreServedByNameWithOpenAIErrorsAndAReconnectAfterTheBridgeRestarts() async throws {
        let second = try MultiModelServeTests.secondImage.get()
        let policy = fixture.work.appendingPathComponent("proxy-\(UUID().uuidString.prefix(6)).json")
        try fixture.expectSuccess(["policy", "create", "--image", fixture.image.path, "--image", second.path,
                                   "--allow-simulation", "--out", policy.path])
        defer { try? FileManager.default.removeItem(at: policy) }
        let pinned = try AttestationPolicy.load(path: policy.path)
        let bridgePort = TestProcess.freeTCPPort()
        let serveArguments = ["serve", "--image", fixture.image.path, "--image", second.path, "--backend", "sim",
                              "--listen", "127.0.0.1:\(bridgePort)"]
        var serve = try fixture.startServe(serveArguments, port: bridgePort, timeout: 120)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let (proxy, port) = try startProxy(bridgePort: bridgePort, policy: policy, extra: ["--max-body-bytes", "65536"])
        defer { proxy.signal(SIGTERM); _ = proxy.wait(timeout: 30) }
        let golden = try Golden.load(fixture.root)

        for name in ["fraud-detector", "fraud-detector-b"] {
            let (status, answer) = try await post(port, "/v1/infer", json: try fraudRequest(model: name))
            try #require(status == 200, "\(answer)")
            let probabilities = try #require((answer["outputs"] as? [String: Any])?["probabilities"] as? [String: Any])
            let values = try #require(probabilities["data"] as? [NSNumber]).map(\.floatValue)
            #expect(zip(values, golden.probabilities).allSatisfy { abs($0 - $1) < 1e-4 })
            #expect((answer["enclave"] as? [String: Any])?["manifest_digest"] as? String == pinned.models?[name]?.manifestDigest)
        }

        let (listed, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/v1/models")!)
        let models = try #require(try JSONSerialization.jsonObject(with: listed) as? [String: Any])
        #expect((models["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["fraud-detector", "fraud-detector-b"])

        let (unknownStatus, unknown) = try await post(port, "/v1/infer", json: try fraudRequest(model: "gpt-5"))
        #expect(unknownStatus == 404)
        #expect(errorCode(unknown) == "model_not_found")
        #expect(((unknown["error"] as? [String: Any])?["message"] as? String)?.contains("fraud-detector, fraud-detector-b") == true)

        let (textStatus, texts) = try await post(port, "/v1/embeddings", json: ["model": "fraud-detector", "input": ["hello"]])
        #expect(textStatus == 400)
        #expect(errorCode(texts) == "model_rejected")
        #expect(((texts["error"] as? [String: Any])?["message"] as? String)?.contains("TEXTS_NOT_SUPPORTED") == true)

        let (badStatus, bad) = try await post(port, "/v1/embeddings", Data("{\"model\": 3".utf8))
        #expect(badStatus == 400)
        #expect(errorCode(bad) == "invalid_request")

        let (bigStatus, big) = try await post(port, "/v1/embeddings",
                                              json: ["model": "fraud-detector", "input": String(repeating: "a", count: 70_000)])
        #expect(bigStatus == 413)
        #expect(errorCode(big) == "body_too_large")

        // Sixteen clients at once over both models: each gets its own model's answer (one session per model, in order).
        let answers = try await withThrowingTaskGroup(of: (String, Int, String?).self) { group in
            for index in 0..<16 {
                let name = index % 2 == 0 ? "fraud-detector" : "fraud-detector-b"
                let request = try fraudRequest(model: name)
                group.addTask {
                    let (status, answer) = try await self.post(port, "/v1/infer", json: request)
                    return (name, status, (answer["enclave"] as? [String: Any])?["manifest_digest"] as? String)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 16)
        for (name, status, digest) in answers {
            #expect(status == 200)
            #expect(digest == pinned.models?[name]?.manifestDigest)
        }

        // The bridge restarts (its enclaves get new keys): the proxy's next call attests again and succeeds.
        serve.signal(SIGTERM)
        _ = serve.wait(timeout: 30)
        let (downStatus, down) = try await post(port, "/v1/infer", json: try fraudRequest(model: "fraud-detector"))
        #expect(downStatus == 503)
        #expect(errorCode(down) == "enclave_unavailable")
        serve = try fixture.startServe(serveArguments, port: bridgePort, timeout: 120)
        let (againStatus, again) = try await post(port, "/v1/infer", json: try fraudRequest(model: "fraud-detector"))
        #expect(againStatus == 200, "\(again)")
    }

    @Test func theProxyRefusesARemoteListenAndAnEnclaveItsPolicyDoesNotAccept() throws {
        let bridgePort = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", try MultiModelServeTests.secondImage.get().path, "--backend", "sim",
                                            "--listen", "127.0.0.1:\(bridgePort)"], port: bridgePort, timeout: 120)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }

        let remote = try fixture.run(["proxy", "--endpoint", "127.0.0.1:\(bridgePort)", "--policy", fixture.policy.path,
                                      "--listen", "0.0.0.0:\(TestProcess.freeTCPPort())"])
        #expect(remote.status != 0)
        #expect(remote.stderr.contains("refusing to listen on 0.0.0.0"))
        #expect(remote.stderr.contains("--allow-remote"))

        // The fixture's policy pins the first image only; the bridge serves the second.
        let wrong = try fixture.run(["proxy", "--endpoint", "127.0.0.1:\(bridgePort)", "--policy", fixture.policy.path,
                                     "--listen", "127.0.0.1:\(TestProcess.freeTCPPort())"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("enclava proxy did not start"))
        #expect(wrong.stderr.contains("UNKNOWN_MODEL"))
        #expect(!wrong.stdout.contains("ready on"))
    }

    /// Another build of `fraud-detector` (same name, version 1.0.1: another manifest digest) behind the bridge: the
    /// proxy's attestation refuses it, and it does not start.
    @Test func theProxyDoesNotStartWhenTheEnclaveIsNotThePinnedImage() throws {
        let manifest = try String(contentsOf: fixture.demoDir.appendingPathComponent("manifest.toml"), encoding: .utf8)
            .replacingOccurrences(of: "version = \"1.0.0\"", with: "version = \"1.0.1\"")
        let manifestPath = fixture.work.appendingPathComponent("fraud-101-\(UUID().uuidString.prefix(6)).toml")
        let image = fixture.work.appendingPathComponent("fraud-101-\(UUID().uuidString.prefix(6)).eimg")
        try manifest.write(to: manifestPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: manifestPath); try? FileManager.default.removeItem(at: image) }
        try fixture.expectSuccess(["package", "--manifest", manifestPath.path, "--asset-root", fixture.demoDir.path,
                                   "--signer", fixture.signer.path, "--out", image.path, "--seal-for", "sim"])
        let bridgePort = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", image.path, "--backend", "sim", "--listen", "127.0.0.1:\(bridgePort)",
                                            "--log-requests"], port: bridgePort, timeout: 120)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let refused = try fixture.run(["proxy", "--endpoint", "127.0.0.1:\(bridgePort)", "--policy", fixture.policy.path,
                                       "--listen", "127.0.0.1:\(TestProcess.freeTCPPort())"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("enclava proxy did not start"))
        #expect(refused.stderr.contains("MANIFEST_DIGEST_MISMATCH"))
        #expect(!refused.stdout.contains("ready on"))
    }

    @Test func embeddingsMatchTheCLIsForTheSameTextsInFloatAndBase64() async throws {
        let image = try MiniLMEndToEndTests.image.get()
        let policy = fixture.work.appendingPathComponent("proxy-minilm-\(UUID().uuidString.prefix(6)).json")
        try fixture.expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
        defer { try? FileManager.default.removeItem(at: policy) }
        let bridgePort = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", image.path, "--backend", "sim", "--listen", "127.0.0.1:\(bridgePort)"],
                                           port: bridgePort, timeout: 180)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let (proxy, port) = try startProxy(bridgePort: bridgePort, policy: policy)
        defer { proxy.signal(SIGTERM); _ = proxy.wait(timeout: 30) }
        let texts = Array(MiniLMGolden.texts.prefix(2))

        let (status, answer) = try await post(port, "/v1/embeddings", json: ["model": "minilm-embeddings", "input": texts])
        try #require(status == 200, "\(answer)")
        #expect(answer["object"] as? String == "list")
        #expect(answer["model"] as? String == "minilm-embeddings")
        let data = try #require(answer["data"] as? [[String: Any]])
        #expect(data.map { $0["index"] as? Int } == [0, 1])
        let floats = try data.map { try #require($0["embedding"] as? [NSNumber]).map(\.floatValue) }
        for (index, vector) in floats.enumerated() {
            #expect(vector.count == MiniLMGolden.width)
            #expect(zip(vector, MiniLMGolden.embedding(index)).allSatisfy { abs($0 - $1) < 1e-4 })
        }

        let (base64Status, base64) = try await post(port, "/v1/embeddings",
                                                    json: ["model": "minilm-embeddings", "input": texts[0], "encoding_format": "base64"])
        try #require(base64Status == 200, "\(base64)")
        let encoded = try #require((base64["data"] as? [[String: Any]])?.first?["embedding"] as? String)
        let bytes = [UInt8](try #require(Data(base64Encoded: encoded)))
        var decoded: [Float] = []
        for offset in stride(from: 0, to: bytes.count, by: 4) {
            var bits: UInt32 = 0
            for byte in 0..<4 { bits |= UInt32(bytes[offset + byte]) << (8 * UInt32(byte)) }
            decoded.append(Float(bitPattern: bits))
        }
        #expect(decoded == floats[0])

        // The same texts through `enclava infer` give the same numbers.
        let cli = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(bridgePort)", "--policy", policy.path,
                                   "--text", texts[0], "--text", texts[1], "--json"], timeout: 300)
        try #require(cli.status == 0, "\(cli.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        let tensor = try #require((report["outputs"] as? [String: Any])?["embeddings"] as? [String: Any])
        let cliValues = try #require(tensor["data"] as? [NSNumber]).map(\.floatValue)
        #expect(cliValues == floats[0] + floats[1])
    }
}
