import EnclavaImage
import EnclavaTesting
import Foundation
import Testing

/// Owner key release with the real processes (DESIGN.md §7): `enclava package --owner-key-out` → `enclava serve`
/// (the enclave waits for its key) → `enclava provision` → `enclava infer`, and what a hostile host, a wrong key
/// file or a replayed ProvisionKey can do.
@Suite(.serialized) struct OwnerProvisionCLITests {
    let fixture = CLIFixture.shared

    /// The fraud detector packaged with `[keys] release = release` (and `[image] version`, when given: another
    /// image) and the key kept by the owner, in `folder`; with its policy (pinning this image). Returns the image,
    /// key and policy paths.
    func packageOwnerImage(in folder: URL, release: String = "owner",
                           version: String? = nil) throws -> (image: URL, key: URL, policy: URL, stdout: String) {
        let source = try String(contentsOf: fixture.demoDir.appendingPathComponent("manifest.toml"), encoding: .utf8)
        let manifest = folder.appendingPathComponent("manifest.toml")
        try source.replacingOccurrences(of: "release = \"sealed\"", with: "release = \"\(release)\"")
            .replacingOccurrences(of: "version = \"1.0.0\"", with: "version = \"\(version ?? "1.0.0")\"")
            .write(to: manifest, atomically: true, encoding: .utf8)
        let image = folder.appendingPathComponent("owned.eimg")
        let key = folder.appendingPathComponent("owned.key")
        let policy = folder.appendingPathComponent("owned-policy.json")
        let packaged = try fixture.expectSuccess(["package", "--manifest", manifest.path, "--asset-root", fixture.demoDir.path,
                                                  "--signer", fixture.signer.path, "--out", image.path,
                                                  "--owner-key-out", key.path])
        try fixture.expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
        return (image, key, policy, packaged.stdout)
    }

    func startServe(_ image: URL, traffic: URL? = nil) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        var arguments = ["serve", "--image", image.path, "--backend", "sim", "--listen", "127.0.0.1:\(port)"]
        if let traffic { arguments += ["--record-traffic", traffic.path] }
        return (try fixture.startServe(arguments, port: port), port)
    }

    func provision(port: Int, policy: URL, key: URL, json: Bool = false) throws -> TestProcess.Result {
        try fixture.run(["provision", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path, "--owner-key", key.path]
                        + (json ? ["--json"] : []))
    }

    func infer(port: Int, policy: URL) throws -> TestProcess.Result {
        let golden = try Golden.load(fixture.root)
        return try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path,
                                "--input", "features=\(golden.featuresJSON)", "--json"])
    }

    /// The whole ttrpc frames (header and payload) in a byte stream whose payload contains `marker`.
    static func frames(in stream: [UInt8], containing marker: String) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while offset + 10 <= stream.count {
            let length = stream[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard offset + 10 + length <= stream.count else { break }
            let frame = Array(stream[offset..<(offset + 10 + length)])
            if ByteSearch.contains(Array(frame[10...]), Array(marker.utf8)) { frames.append(frame) }
            offset += 10 + length
        }
        return frames
    }

    /// package → serve (waiting) → provision → infer, and the key is never in any relayed byte.
    @Test func provisionReleasesTheKeyAndTheEnclaveServes() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try packageOwnerImage(in: folder)
        #expect(owned.stdout.contains("enclava provision --owner-key"), "\(owned.stdout)")
        let attributes = try FileManager.default.attributesOfItem(atPath: owned.key.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let traffic = folder.appendingPathComponent("traffic.bin")
        let (serve, port) = try startServe(owned.image, traffic: traffic)
        #expect(serve.stdoutSoFar.contains("waiting for its model key"), "\(serve.stdoutSoFar)")

        // Before the key: sessions are refused with the reason.
        let early = try infer(port: port, policy: owned.policy)
        #expect(early.status != 0 && early.stdout.contains("WAITING_FOR_KEY"), "\(early.stdout) \(early.stderr)")

        let provisioned = try provision(port: port, policy: owned.policy, key: owned.key, json: true)
        #expect(provisioned.status == 0, "\(provisioned.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(provisioned.stdout.utf8)) as? [String: Any])
        #expect(report["state"] as? String == "ready")
        let enclave = try #require(report["enclave"] as? [String: Any])
        let policyJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: owned.policy)) as? [String: Any])
        #expect((policyJSON["expected_manifest_digests"] as? [String])?.first == enclave["manifest_digest"] as? String)
        #expect(enclave["simulated"] as? Bool == true && enclave["platform"] as? String == "sev-snp")
        #expect((enclave["claims"] as? [String: Any])?.isEmpty == false)

        let inferred = try infer(port: port, policy: owned.policy)
        #expect(inferred.status == 0, "\(inferred.stderr)")
        #expect(inferred.stdout.contains("\"probabilities\""))

        // Already ready: refused, and it keeps serving.
        let again = try provision(port: port, policy: owned.policy, key: owned.key)
        #expect(again.status != 0 && again.stderr.contains("NOT_WAITING_FOR_KEY"), "\(again.stderr)")
        #expect(try infer(port: port, policy: owned.policy).status == 0)
        serve.signal(SIGTERM)
        #expect(serve.wait(timeout: 30).status == 0)

        // The bridge relayed one ProvisionKey, and never the key itself.
        let dek = Array([UInt8](try Data(contentsOf: owned.key))[8...])
        let relayed = try TrafficFile.streams(traffic, direction: .clientToEnclave).values.reduce([], +)
        #expect(Self.frames(in: relayed, containing: "ProvisionKey").count == 2)
        #expect(!ByteSearch.contains(relayed, dek))
        #expect(!ByteSearch.contains([UInt8](try Data(contentsOf: traffic)), dek))
    }

    /// Evidence that fails the owner's policy: the CLI says the key was not sent, and the bridge relayed no
    /// ProvisionKey and no byte of the key. A wrong key file is KEY_MISMATCH and the enclave keeps waiting.
    @Test func noKeyLeavesForEvidenceOutsideThePolicyAndAWrongKeyIsKeyMismatch() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try packageOwnerImage(in: folder)
        let traffic = folder.appendingPathComponent("traffic.bin")
        let (serve, port) = try startServe(owned.image, traffic: traffic)
        defer { serve.signal(SIGKILL); _ = serve.wait(timeout: 30) }

        // A policy that expects another runtime measurement (a host running something else).
        var policy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: owned.policy)) as? [String: Any])
        policy["expected_measurements"] = [String(repeating: "00", count: 48)]
        let strict = folder.appendingPathComponent("other-runtime.json")
        try JSONSerialization.data(withJSONObject: policy).write(to: strict)
        let refused = try provision(port: port, policy: strict, key: owned.key)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("MEASUREMENT") && refused.stderr.contains("the key was not sent"), "\(refused.stderr)")

        // Another image's key (packaged again: same manifest, new key).
        let other = folder.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let otherKey = try packageOwnerImage(in: other).key
        let mismatch = try provision(port: port, policy: owned.policy, key: otherKey)
        #expect(mismatch.status != 0 && mismatch.stderr.contains("KEY_MISMATCH"), "\(mismatch.stderr)")
        #expect(mismatch.stderr.contains("--owner-key-out"), "the message says which key to use: \(mismatch.stderr)")

        let relayedBeforeGoodKey = try TrafficFile.streams(traffic, direction: .clientToEnclave).values.reduce([], +)
        let dek = Array([UInt8](try Data(contentsOf: owned.key))[8...])
        #expect(Self.frames(in: relayedBeforeGoodKey, containing: "ProvisionKey").count == 1)   // the mismatched key only
        #expect(!ByteSearch.contains(relayedBeforeGoodKey, dek))

        // Still waiting: the right key works after both refusals.
        let good = try provision(port: port, policy: owned.policy, key: owned.key)
        #expect(good.status == 0 && good.stdout.contains("the enclave is ready"), "\(good.stdout) \(good.stderr)")
    }

    /// A ProvisionKey captured on the wire (the host records every relayed byte) and replayed to the restarted
    /// enclave is refused: the restart has a new HPKE key and never issued that evidence. The enclave keeps waiting.
    @Test func aReplayedProvisionKeyIsRefusedByTheRestartedEnclave() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try packageOwnerImage(in: folder)
        let traffic = folder.appendingPathComponent("traffic.bin")
        let (first, firstPort) = try startServe(owned.image, traffic: traffic)
        #expect(try provision(port: firstPort, policy: owned.policy, key: owned.key).status == 0)
        first.signal(SIGTERM)
        #expect(first.wait(timeout: 30).status == 0)
        let captured = try #require(Self.frames(in: try TrafficFile.streams(traffic, direction: .clientToEnclave).values.reduce([], +),
                                                containing: "ProvisionKey").first)

        let (restarted, port) = try startServe(owned.image)
        defer { restarted.signal(SIGKILL); _ = restarted.wait(timeout: 30) }
        let socket = try RawSocket(port: port)
        try socket.send(captured)
        let answer = try socket.receive(atLeast: 10, timeout: 30)
        #expect(ByteSearch.statusCode(inResponseFrame: answer) == 9)   // FAILED_PRECONDITION
        #expect(ByteSearch.contains(answer, Array("UNKNOWN_EVIDENCE".utf8)))
        let session = try infer(port: port, policy: owned.policy)
        #expect(session.stdout.contains("WAITING_FOR_KEY"), "the replay changed the enclave: \(session.stdout)")
        #expect(try provision(port: port, policy: owned.policy, key: owned.key).status == 0)
    }

    /// The right key for a model that cannot load (`enclava package` would refuse it; the library packager does
    /// not check): `enclava provision` gets MODEL_LOAD_FAILED, and the `enclava-runtime` process exits non-zero
    /// with the reason, as a failed start would.
    @Test func aModelThatFailsToLoadAfterTheKeyEndsTheRuntimeProcess() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        try "[image]\nname = \"broken\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n[keys]\nrelease = \"owner\"\n"
            .write(to: folder.appendingPathComponent("manifest.toml"), atomically: true, encoding: .utf8)
        try Data("not an onnx model".utf8).write(to: folder.appendingPathComponent("model.onnx"))
        let image = folder.appendingPathComponent("broken.eimg")
        let key = folder.appendingPathComponent("broken.key")
        let policy = folder.appendingPathComponent("broken-policy.json")
        _ = try ImagePackager.package(manifestPath: folder.appendingPathComponent("manifest.toml").path,
                                      signer: try SignerKey.load(path: fixture.signer.path), outputPath: image.path,
                                      wrapping: .owner(keyOutputPath: key.path))
        try fixture.expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
        let socket = folder.appendingPathComponent("enclave.sock").path
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)", "--image", image.path,
                                                    "--sim-home", fixture.home.path], environment: fixture.environment)
        try runtime.start()
        defer { if runtime.process.isRunning { runtime.signal(SIGKILL) }; _ = runtime.wait(timeout: 30) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && (try? RawSocket(unixPath: socket)) == nil {
            try #require(runtime.process.isRunning, "runtime exited: \(runtime.stderrSoFar)")
            usleep(100_000)
        }
        let provisioned = try fixture.run(["provision", "--endpoint", "unix:\(socket)", "--policy", policy.path,
                                           "--owner-key", key.path])
        #expect(provisioned.status != 0 && provisioned.stderr.contains("MODEL_LOAD_FAILED"), "\(provisioned.stderr)")
        let exited = runtime.wait(timeout: 60)
        #expect(exited.status == 1, "\(exited.stderr)")
        #expect(exited.stderr.contains("enclava-runtime: cannot load the model model.onnx"), "\(exited.stderr)")
    }

    /// Key files the CLI refuses before connecting, each with its own message.
    @Test func badKeyFilesAreRefusedBeforeConnecting() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try packageOwnerImage(in: folder)
        let open = folder.appendingPathComponent("open.key")
        try FileManager.default.copyItem(at: owned.key, to: open)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open.path)
        let notAKey = folder.appendingPathComponent("signer-copy.pem")
        try FileManager.default.copyItem(at: fixture.signer, to: notAKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: notAKey.path)
        let port = TestProcess.freeTCPPort()   // nothing listens: every refusal comes first
        let cases: [(URL, String)] = [
            (folder.appendingPathComponent("missing.key"), "does not exist"),
            (open, "chmod 600"),
            (notAKey, "is not an Enclava owner key file"),
        ]
        for (key, message) in cases {
            let result = try provision(port: port, policy: owned.policy, key: key)
            #expect(result.status != 0 && result.stderr.contains(message), "\(key.lastPathComponent): \(result.stderr)")
            #expect(!result.stderr.contains("CONNECT"), "\(key.lastPathComponent) was not refused before connecting")
        }
        // A policy that pins two images is refused too.
        var policy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: owned.policy)) as? [String: Any])
        policy["expected_manifest_digests"] = [String(repeating: "ab", count: 48), String(repeating: "cd", count: 48)]
        let loose = folder.appendingPathComponent("two-images.json")
        try JSONSerialization.data(withJSONObject: policy).write(to: loose)
        let result = try provision(port: port, policy: loose, key: owned.key)
        #expect(result.status != 0 && result.stderr.contains("must pin exactly"), "\(result.stderr)")
    }

    /// `release = "broker"` packages with --owner-key-out (the broker gets that file) and refuses --seal-for sim;
    /// `enclava run` refuses an owner-held image instead of waiting forever.
    @Test func packagingAndRunExplainTheKeySource() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-owner")
        defer { try? FileManager.default.removeItem(at: folder) }
        let broker = try packageOwnerImage(in: folder, release: "broker")
        #expect(broker.stdout.contains("enclava keybroker add --owner-key"), "\(broker.stdout)")
        let sealed = try fixture.run(["package", "--manifest", folder.appendingPathComponent("manifest.toml").path,
                                      "--asset-root", fixture.demoDir.path, "--signer", fixture.signer.path,
                                      "--out", folder.appendingPathComponent("sealed.eimg").path, "--seal-for", "sim"])
        #expect(sealed.status != 0 && sealed.stderr.contains("release = \"broker\""), "\(sealed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("sealed.eimg").path))

        let owner = folder.appendingPathComponent("owner")
        try FileManager.default.createDirectory(at: owner, withIntermediateDirectories: true)
        let owned = try packageOwnerImage(in: owner)
        let run = try fixture.run(["run", "--sim", "--image", owned.image.path, "--input", "features=[[1,2,3,4,5,6,7,8]]"])
        #expect(run.status != 0 && run.stderr.contains("enclava provision"), "\(run.stderr)")
        // release = "owner" sealed for the simulator anyway: allowed (local testing), and said plainly.
        let simSealed = try fixture.run(["package", "--manifest", owner.appendingPathComponent("manifest.toml").path,
                                         "--asset-root", fixture.demoDir.path, "--signer", fixture.signer.path,
                                         "--out", owner.appendingPathComponent("sim.eimg").path, "--seal-for", "sim"])
        #expect(simSealed.status == 0 && simSealed.stdout.contains("release = \"owner\" does not apply"), "\(simSealed.stdout)")
    }
}
