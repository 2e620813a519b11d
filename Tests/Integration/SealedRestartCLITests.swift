import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// Sealed restart with the real processes (DESIGN.md §7): an owner-release image served with `--state-dir` is
/// provisioned once; the enclave leaves its key sealed to the platform in the host's folder, and the next start is
/// ready with no owner. A blob the host tampered with, another image's blob or a blob a different runtime build
/// sealed is refused with its reason in the log; the enclave waits for its key, and the release replaces the blob.
@Suite(.serialized) struct SealedRestartCLITests {
    let fixture = CLIFixture.shared
    let owner = OwnerProvisionCLITests()

    /// `enclava serve` for `image` keeping its sealed state in `stateDir` (with `runtime` instead of the built one).
    func startServe(_ image: URL, stateDir: URL, runtime: URL? = nil) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        var arguments = ["serve", "--image", image.path, "--backend", "sim", "--listen", "127.0.0.1:\(port)",
                         "--state-dir", stateDir.path]
        if let runtime { arguments += ["--runtime", runtime.path] }
        return (try fixture.startServe(arguments, port: port), port)
    }

    /// Stops `serve` as an operator would and expects a clean exit; returns its standard error.
    @discardableResult
    func stop(_ serve: TestProcess) -> String {
        serve.signal(SIGTERM)
        let result = serve.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stderr
    }

    /// The image's sealed-state file in `stateDir`: `<manifest digest>.sealed`.
    func stateFile(for image: URL, in stateDir: URL) throws -> URL {
        let inspected = try fixture.expectSuccess(["inspect", image.path, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        let digest = try #require(summary?["manifest_digest"] as? String)
        return stateDir.appendingPathComponent(digest + ".sealed")
    }

    /// The enclave's state, asked over the bridge.
    func health(port: Int) async throws -> Enclava_V1_HealthResponse {
        let client = try await TTRPCClient.connect(to: .tcp(host: "127.0.0.1", port: port))
        do {
            let answer = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self,
                                               timeout: .seconds(10))
            await client.close()
            return answer
        } catch {
            await client.close()
            throw error
        }
    }

    /// Serve (no state yet: waits) → provision → state saved; serve again → ready from the state with no provision.
    /// The saved state is returned with the paths.
    func provisionOnce(_ owned: (image: URL, key: URL, policy: URL, stdout: String), stateDir: URL,
                       runtime: URL? = nil) throws -> [UInt8] {
        let (serve, port) = try startServe(owned.image, stateDir: stateDir, runtime: runtime)
        #expect(serve.stdoutSoFar.contains("waiting for its model key"), "\(serve.stdoutSoFar)")
        let provisioned = try owner.provision(port: port, policy: owned.policy, key: owned.key)
        #expect(provisioned.status == 0, "\(provisioned.stderr)")
        let log = stop(serve)
        #expect(log.contains("sealed state saved"), "\(log)")
        return [UInt8](try Data(contentsOf: try stateFile(for: owned.image, in: stateDir)))
    }

    @Test func anOwnerImageRestartsFromItsSealedStateWithNoProvision() async throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-sealed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try owner.packageOwnerImage(in: folder)
        let stateDir = folder.appendingPathComponent("state")

        let (first, firstPort) = try startServe(owned.image, stateDir: stateDir)
        #expect(first.stderrSoFar.contains("no sealed state yet: this start is a key release"), "\(first.stderrSoFar)")
        #expect(try await health(port: firstPort).state == .waitingForKey)
        #expect(try owner.provision(port: firstPort, policy: owned.policy, key: owned.key).status == 0)
        let firstLog = stop(first)
        #expect(firstLog.contains("sealed state saved: the next start opens the model key with no owner or broker"), "\(firstLog)")

        let state = try stateFile(for: owned.image, in: stateDir)
        let attributes = try FileManager.default.attributesOfItem(atPath: state.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let blob = [UInt8](try Data(contentsOf: state))
        let dek = Array([UInt8](try Data(contentsOf: owned.key))[8...])
        #expect(blob.starts(with: Array("ENCLSEAL".utf8)) && !ByteSearch.contains(blob, dek))

        // The restart: ready with nobody in the loop.
        let (second, port) = try startServe(owned.image, stateDir: stateDir)
        defer { if second.process.isRunning { second.signal(SIGKILL); _ = second.wait(timeout: 30) } }
        #expect(!second.stdoutSoFar.contains("waiting for its model key"), "\(second.stdoutSoFar)")
        #expect(second.stderrSoFar.contains("sealed state opened: starting without a key release"), "\(second.stderrSoFar)")
        #expect(try await health(port: port).state == .ready)
        let inferred = try owner.infer(port: port, policy: owned.policy)
        #expect(inferred.status == 0 && inferred.stdout.contains("\"probabilities\""), "\(inferred.stderr)")
        let again = try owner.provision(port: port, policy: owned.policy, key: owned.key)
        #expect(again.status != 0 && again.stderr.contains("NOT_WAITING_FOR_KEY"), "\(again.stderr)")
        stop(second)
        #expect([UInt8](try Data(contentsOf: state)) == blob, "a start from sealed state does not rewrite it")
    }

    /// A blob whose tag the host flipped fails the AEAD: logged, the enclave waits, and the release replaces it.
    @Test func aTamperedBlobIsRefusedAndReplacedByTheNextRelease() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-sealed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try owner.packageOwnerImage(in: folder)
        let stateDir = folder.appendingPathComponent("state")
        var blob = try provisionOnce(owned, stateDir: stateDir)
        blob[blob.count - 1] ^= 0x01
        let state = try stateFile(for: owned.image, in: stateDir)
        try Data(blob).write(to: state)

        try expectRefusedThenReplaced(owned, stateDir: stateDir, tampered: blob, code: "SEALED_STATE_UNSEAL_FAILED")
    }

    /// Another image's blob renamed to this image's file: SEALED_STATE_OTHER_IMAGE; replaced by the release.
    @Test func anotherImagesBlobIsRefusedAndReplaced() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-sealed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try owner.packageOwnerImage(in: folder)
        let otherFolder = folder.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: otherFolder, withIntermediateDirectories: true)
        let other = try owner.packageOwnerImage(in: otherFolder, version: "2.0.0")
        let stateDir = folder.appendingPathComponent("state")
        let otherBlob = try provisionOnce(other, stateDir: stateDir)
        let state = try stateFile(for: owned.image, in: stateDir)
        try #require(state != (try stateFile(for: other.image, in: stateDir)))
        try Data(otherBlob).write(to: state)

        try expectRefusedThenReplaced(owned, stateDir: stateDir, tampered: otherBlob, code: "SEALED_STATE_OTHER_IMAGE")
    }

    /// A blob sealed by this runtime does not open in a rebuilt one (another measurement: a copy of the runtime
    /// with one byte appended): SEALED_STATE_OTHER_ENCLAVE; the rebuilt runtime's release replaces it, and the
    /// original runtime in turn refuses the new blob.
    @Test func aBlobFromAnotherRuntimeMeasurementIsRefusedAndReplaced() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-sealed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try owner.packageOwnerImage(in: folder)
        let stateDir = folder.appendingPathComponent("state")
        let blob = try provisionOnce(owned, stateDir: stateDir)
        let rebuilt = folder.appendingPathComponent("enclava-runtime")
        var binary = try Data(contentsOf: fixture.runtime)
        binary.append(0x00)
        try binary.write(to: rebuilt)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rebuilt.path)
        // The owner pins the rebuilt runtime's measurement to release the key to it.
        let rebuiltPolicy = folder.appendingPathComponent("rebuilt-policy.json")
        try fixture.expectSuccess(["policy", "create", "--image", owned.image.path, "--allow-simulation",
                                   "--runtime", rebuilt.path, "--out", rebuiltPolicy.path])

        try expectRefusedThenReplaced((owned.image, owned.key, rebuiltPolicy, owned.stdout), stateDir: stateDir,
                                      tampered: blob, code: "SEALED_STATE_OTHER_ENCLAVE", runtime: rebuilt)
        let (original, _) = try startServe(owned.image, stateDir: stateDir)
        #expect(original.stdoutSoFar.contains("waiting for its model key"), "\(original.stdoutSoFar)")
        #expect(original.stderrSoFar.contains("SEALED_STATE_OTHER_ENCLAVE"), "\(original.stderrSoFar)")
        stop(original)
    }

    /// A state file that cannot be written (its folder is gone) does not fail the release: the real runtime
    /// logs SEALED_STATE_UNWRITABLE and serves.
    @Test func aStateThatCannotBeSavedIsLoggedAndTheEnclaveServes() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-sealed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let owned = try owner.packageOwnerImage(in: folder)
        let socket = folder.appendingPathComponent("enclave.sock").path
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)", "--image", owned.image.path,
                                                    "--sim-home", fixture.home.path,
                                                    "--sealed-state", folder.appendingPathComponent("gone/x.sealed").path],
                                  environment: fixture.environment)
        try runtime.start()
        defer { if runtime.process.isRunning { runtime.signal(SIGKILL) }; _ = runtime.wait(timeout: 30) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && (try? RawSocket(unixPath: socket)) == nil {
            try #require(runtime.process.isRunning, "runtime exited: \(runtime.stderrSoFar)")
            usleep(100_000)
        }
        let provisioned = try fixture.run(["provision", "--endpoint", "unix:\(socket)", "--policy", owned.policy.path,
                                           "--owner-key", owned.key.path])
        #expect(provisioned.status == 0 && provisioned.stdout.contains("the enclave is ready"), "\(provisioned.stderr)")
        runtime.signal(SIGTERM)
        let exited = runtime.wait(timeout: 30)
        #expect(exited.status == 0, "\(exited.stderr)")
        #expect(exited.stderr.contains("sealed state not saved (SEALED_STATE_UNWRITABLE"), "\(exited.stderr)")
        #expect(exited.stderr.contains("the next start is a key release again"), "\(exited.stderr)")
    }

    /// The start after `tampered` was put in place: refused with `code` in the log, waiting for the key; the
    /// provision makes a new blob; the start after that opens it.
    func expectRefusedThenReplaced(_ owned: (image: URL, key: URL, policy: URL, stdout: String), stateDir: URL,
                                   tampered: [UInt8], code: String, runtime: URL? = nil) throws {
        let state = try stateFile(for: owned.image, in: stateDir)
        let (refused, port) = try startServe(owned.image, stateDir: stateDir, runtime: runtime)
        #expect(refused.stdoutSoFar.contains("waiting for its model key"), "\(refused.stdoutSoFar)")
        #expect(refused.stderrSoFar.contains("sealed state not used (\(code)"), "\(refused.stderrSoFar)")
        #expect(refused.stderrSoFar.contains("falling back to a key release, which replaces it"), "\(refused.stderrSoFar)")
        let early = try owner.infer(port: port, policy: owned.policy)
        #expect(early.status != 0 && early.stdout.contains("WAITING_FOR_KEY"), "\(early.stdout) \(early.stderr)")
        #expect(try owner.provision(port: port, policy: owned.policy, key: owned.key).status == 0)
        let log = stop(refused)
        #expect(log.contains("sealed state saved"), "\(log)")
        let replaced = [UInt8](try Data(contentsOf: state))
        #expect(replaced != tampered && replaced.starts(with: Array("ENCLSEAL".utf8)))

        let (restarted, restartedPort) = try startServe(owned.image, stateDir: stateDir, runtime: runtime)
        #expect(restarted.stderrSoFar.contains("sealed state opened"), "\(restarted.stderrSoFar)")
        #expect(try owner.infer(port: restartedPort, policy: owned.policy).status == 0)
        stop(restarted)
    }
}
