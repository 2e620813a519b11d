import EnclavaAttestation
import EnclavaClient
import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// `enclava serve --image a --image b` with the real binaries: two builds of the fraud model under two names, one
/// enclave each, routed by the name the client sends; `enclava policy create --image a --image b` pins both by name,
/// and a client refuses an enclave that runs the other image than the one it named.
@Suite(.serialized) struct MultiModelServeTests {
    let fixture = CLIFixture.shared

    /// The fraud model packaged again under another [image] name (`fraud-detector-b`): another manifest digest.
    static let secondImage: Result<URL, any Error> = Result {
        let fixture = CLIFixture.shared
        let manifest = try String(contentsOf: fixture.demoDir.appendingPathComponent("manifest.toml"), encoding: .utf8)
            .replacingOccurrences(of: "name = \"fraud-detector\"", with: "name = \"fraud-detector-b\"")
        let manifestPath = fixture.work.appendingPathComponent("fraud-b.toml")
        try manifest.write(to: manifestPath, atomically: true, encoding: .utf8)
        let image = fixture.work.appendingPathComponent("fraud-b.eimg")
        try fixture.expectSuccess(["package", "--manifest", manifestPath.path, "--asset-root", fixture.demoDir.path,
                                   "--signer", fixture.signer.path, "--out", image.path, "--seal-for", "sim"])
        return image
    }

    /// A policy pinning both images by name.
    func bothPolicy() throws -> URL {
        let policy = fixture.work.appendingPathComponent("both-\(UUID().uuidString.prefix(6)).json")
        try fixture.expectSuccess(["policy", "create", "--image", fixture.image.path, "--image", try Self.secondImage.get().path,
                                   "--allow-simulation", "--out", policy.path])
        return policy
    }

    func infer(port: Int, policy: URL, model: String?) throws -> TestProcess.Result {
        let golden = try Golden.load(fixture.root)
        return try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path,
                                "--input", "features=\(golden.featuresJSON)", "--json"] + (model.map { ["--model", $0] } ?? []))
    }

    func manifestDigest(of result: TestProcess.Result) throws -> String {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try #require((report["enclave"] as? [String: Any])?["manifest_digest"] as? String)
    }

    @Test func twoImagesAreServedAndEachCallReachesTheNamedOne() throws {
        let second = try Self.secondImage.get()
        let policy = try bothPolicy()
        let pinned = try AttestationPolicy.load(path: policy.path)
        #expect(pinned.pinnedModelNames == ["fraud-detector", "fraud-detector-b"])
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", fixture.image.path, "--image", second.path, "--backend", "sim",
                                            "--listen", "127.0.0.1:\(port)"], port: port, timeout: 120)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        #expect(serve.stdoutSoFar.contains("fraud-detector 1.0.0, fraud-detector-b 1.0.0"))

        for name in ["fraud-detector", "fraud-detector-b"] {
            let result = try infer(port: port, policy: policy, model: name)
            try #require(result.status == 0, "infer --model \(name) failed: \(result.stderr)")
            #expect(try manifestDigest(of: result) == pinned.models?[name]?.manifestDigest)
        }

        // No name, two models: the bridge's error names them.
        let unnamed = try infer(port: port, policy: policy, model: nil)
        #expect(unnamed.status != 0)
        #expect(unnamed.stdout.contains("MODEL_REQUIRED"))
        #expect(unnamed.stderr.contains("fraud-detector, fraud-detector-b"))

        // A name the policy pins but the bridge does not serve: the bridge answers NOT_FOUND, listing its models.
        let onlyFirst = fixture.work.appendingPathComponent("policy-extra-\(UUID().uuidString.prefix(6)).json")
        var extra = pinned
        let stranger = String(repeating: "ab", count: 48)
        extra.expectedManifestDigests.append(stranger)
        extra.models?["minilm-embeddings"] = PinnedModel(manifestDigest: stranger)
        try extra.write(to: onlyFirst.path)
        defer { try? FileManager.default.removeItem(at: onlyFirst) }
        let unknown = try infer(port: port, policy: onlyFirst, model: "minilm-embeddings")
        #expect(unknown.status != 0)
        #expect(unknown.stdout.contains("UNKNOWN_MODEL"))
        #expect(unknown.stderr.contains("fraud-detector, fraud-detector-b"))

        // A name the policy does not pin is refused before anything is sent.
        let unpinned = try infer(port: port, policy: policy, model: "gpt-5")
        #expect(unpinned.status != 0)
        #expect(unpinned.stdout.contains("MODEL_NOT_PINNED"))
        try? FileManager.default.removeItem(at: policy)
    }

    /// A hostile host answers a call for `fraud-detector` with the enclave of `fraud-detector-b` (here: a transport
    /// that drops the name, to a bridge serving only b): the client refuses it before it opens a session.
    @Test func aHostRoutingOneModelsNameToAnotherEnclaveIsRefused() async throws {
        let second = try Self.secondImage.get()
        let policy = try bothPolicy()
        defer { try? FileManager.default.removeItem(at: policy) }
        let pinned = try AttestationPolicy.load(path: policy.path)
        let port = TestProcess.freeTCPPort()
        let record = fixture.work.appendingPathComponent("swap-\(UUID().uuidString.prefix(6)).traffic")
        defer { try? FileManager.default.removeItem(at: record) }
        let serve = try fixture.startServe(["serve", "--image", second.path, "--backend", "sim", "--listen", "127.0.0.1:\(port)",
                                            "--record-traffic", record.path], port: port, timeout: 120)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let swapping = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))   // sends no name: b answers
        let error = await #expect(throws: ClientError.self) {
            _ = try await ConfidentialSession.connect(using: swapping, policy: pinned, model: "fraud-detector")
        }
        await swapping.close()
        #expect(error?.code == .attestationFailed)
        #expect(error?.attestationError?.code == .modelMismatch)
        #expect(error?.message.contains("`fraud-detector-b`") == true)
        // Nothing but GetEvidence crossed the bridge: no session was opened, no input sent.
        let traffic = (try? Data(contentsOf: record)) ?? Data()
        #expect(!traffic.isEmpty)
        #expect(traffic.range(of: Data("OpenSession".utf8)) == nil)
        #expect(traffic.range(of: Data("Infer".utf8)) == nil)

        // The same policy and name through the CLI, to the single-image bridge: the bridge knows b's name and
        // answers UNKNOWN_MODEL itself.
        let cli = try infer(port: port, policy: policy, model: "fraud-detector")
        #expect(cli.status != 0)
        #expect(cli.stdout.contains("UNKNOWN_MODEL"))
    }

    /// A host whose bridge labels an enclave with the wrong name: `enclava serve --enclave unix:… --image fraud.eimg` in
    /// front of an `enclava-runtime` that runs `fraud-detector-b`. The bridge routes `--model fraud-detector` there
    /// as told; the client sends the name, sees b's manifest digest and refuses before any session or input.
    @Test func aBridgeThatLabelsAnotherImagesEnclaveWithTheNameIsRefused() throws {
        let second = try Self.secondImage.get()
        let policy = try bothPolicy()
        defer { try? FileManager.default.removeItem(at: policy) }
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-swap")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("b.sock").path
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)", "--image", second.path,
                                                    "--sim-home", fixture.home.path], environment: fixture.environment)
        try runtime.start()
        defer { runtime.signal(SIGTERM); _ = runtime.wait(timeout: 30) }
        let port = TestProcess.freeTCPPort()
        let record = folder.appendingPathComponent("traffic")
        let serve = try fixture.startServe(["serve", "--enclave", "unix:\(socket)", "--image", fixture.image.path,
                                            "--listen", "127.0.0.1:\(port)", "--record-traffic", record.path], port: port)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        #expect(serve.stdoutSoFar.contains("fraud-detector 1.0.0"))

        let swapped = try infer(port: port, policy: policy, model: "fraud-detector")
        #expect(swapped.status != 0)
        #expect(swapped.stdout.contains("MODEL_MISMATCH"))
        #expect(swapped.stderr.contains("asked for model `fraud-detector` but the enclave runs `fraud-detector-b`"))
        let traffic = (try? Data(contentsOf: record)) ?? Data()
        #expect(traffic.range(of: Data("GetEvidence".utf8)) != nil)
        #expect(traffic.range(of: Data("OpenSession".utf8)) == nil)
        #expect(traffic.range(of: Data("Infer".utf8)) == nil)

        // The bridge knows that enclave only by the label it was given, so the real name is unknown to it.
        let honest = try infer(port: port, policy: policy, model: "fraud-detector-b")
        #expect(honest.status != 0)
        #expect(honest.stdout.contains("UNKNOWN_MODEL"))
    }
}

