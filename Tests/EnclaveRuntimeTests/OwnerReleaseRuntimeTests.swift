import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import Foundation
import SwiftProtobuf
import Testing
@testable import EnclaveRuntime

/// A transport that records the methods it was asked to call (and forwards them).
final class RecordingTransport: EnclaveTransport, @unchecked Sendable {
    let inner: TTRPCClient
    private let lock = NSLock()
    private var calls: [EnclaveService.Method] = []

    init(_ inner: TTRPCClient) { self.inner = inner }

    var methods: [EnclaveService.Method] { lock.withLock { calls } }

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: EnclaveService.Method, _ request: Request, as type: Response.Type, timeout: Duration
    ) async throws -> Response {
        lock.withLock { calls.append(method) }
        return try await inner.call(method, request, as: type, timeout: timeout)
    }

    func close() async { await inner.close() }
}

/// The fraud detector packaged with `[keys] release = "owner"` (key file written, only its commitment in the
/// image), run by the real runtime in this process: it waits for its key, and `KeyProvisioner` releases it.
@Suite(.serialized) struct OwnerReleaseRuntimeTests {
    let world: EndToEndWorld

    init() throws { world = try EndToEndWorld.shared.get() }

    /// Packages `model` (the fraud detector's by default) under a `release = "owner"` manifest in a fresh folder.
    func packageOwnerImage(model: Data? = nil) throws -> (folder: String, image: String, key: String, digest: [UInt8]) {
        let folder = try makeTemporaryDirectory("enclava-owner")
        let source = try String(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("manifest.toml"), encoding: .utf8)
        try source.replacingOccurrences(of: "release = \"sealed\"", with: "release = \"owner\"")
            .write(toFile: folder + "/manifest.toml", atomically: true, encoding: .utf8)
        let modelData = try model ?? Data(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("model.onnx"))
        try modelData.write(to: URL(fileURLWithPath: folder + "/model.onnx"))
        let image = folder + "/owned.eimg"
        let key = folder + "/owned.key"
        _ = try ImagePackager.package(manifestPath: folder + "/manifest.toml", signer: world.signer, outputPath: image,
                                      wrapping: .owner(keyOutputPath: key))
        let opened = try EnclaveImage.open(path: image)
        #expect(opened.manifest.keys.release == .owner)
        return (folder, image, key, opened.manifestDigest)
    }

    @Test func anOwnerImageWaitsForItsKeyThenServes() async throws {
        let owned = try packageOwnerImage()
        defer { try? FileManager.default.removeItem(atPath: owned.folder) }
        let (runtime, endpoint) = try await world.startRuntime(imagePath: owned.image)
        #expect(await runtime.core.state == .waitingForKey)
        let policy = world.policy(manifestDigest: owned.digest)

        // Sessions are refused while it waits, with the reason.
        do {
            _ = try await ConfidentialSession.connect(to: endpoint, policy: policy, verifier: world.verifier)
            Issue.record("a session opened on an enclave without its key")
        } catch let error as ClientError {
            #expect(error.remoteReason == RuntimeReason.waitingForKey, "\(error)")
        }

        // Evidence that fails the owner's policy: no ProvisionKey is ever sent.
        let recorder = RecordingTransport(try await TTRPCClient.connect(to: endpoint))
        do {
            _ = try await KeyProvisioner.provision(try OwnerKeyFile.load(path: owned.key), using: recorder,
                                                   policy: world.policy(measurement: SHA2.sha384([9]), manifestDigest: owned.digest),
                                                   verifier: world.verifier)
            Issue.record("a key was provisioned to evidence outside the policy")
        } catch let error as ClientError {
            #expect(error.code == .attestationFailed && error.attestationError?.code == .measurementMismatch, "\(error)")
        }
        #expect(recorder.methods == [.getEvidence])
        await recorder.close()

        // A wrong key: KEY_MISMATCH, still waiting.
        do {
            _ = try await KeyProvisioner.provision(SecureBytes.random(count: 32), to: endpoint, policy: policy, verifier: world.verifier)
            Issue.record("a wrong key was accepted")
        } catch let error as ClientError {
            #expect(error.code == .remote && error.remoteReason == RuntimeReason.keyMismatch, "\(error)")
        }
        #expect(await runtime.core.state == .waitingForKey)

        // The image's key: ready, and the golden inference matches.
        let outcome = try await KeyProvisioner.provision(try OwnerKeyFile.load(path: owned.key), to: endpoint, policy: policy,
                                                         verifier: world.verifier)
        #expect(outcome.state == .ready && outcome.modelName == "fraud-detector")
        #expect(outcome.verifiedEvidence.manifestDigest == owned.digest && outcome.verifiedEvidence.isSimulated)
        let session = try await ConfidentialSession.connect(to: endpoint, policy: policy, verifier: world.verifier)
        let golden = try Golden.load()
        let outputs = try await session.infer(golden.inputs)
        let gotTensor = try #require(outputs["probabilities"])
        let wantTensor = try #require(golden.outputs["probabilities"])
        let got = try #require(TensorJSON.floats(of: gotTensor))
        let want = try #require(TensorJSON.floats(of: wantTensor))
        for (a, b) in zip(got, want) { #expect(abs(a - b) <= 1e-5) }
        await session.close()

        // Already ready: refused, nothing changes.
        do {
            _ = try await KeyProvisioner.provision(try OwnerKeyFile.load(path: owned.key), to: endpoint, policy: policy,
                                                   verifier: world.verifier)
            Issue.record("a ready enclave accepted a key")
        } catch let error as ClientError {
            #expect(error.remoteReason == RuntimeReason.notWaitingForKey, "\(error)")
        }
        #expect(await runtime.core.state == .ready)
        await runtime.shutdown()
        #expect(await runtime.exitFailure == nil)
    }

    /// A policy that pins no image, or several, never gets the key (refused before connecting).
    @Test func aPolicyMustPinExactlyOneImage() async throws {
        for digests in [[String](), [String(repeating: "ab", count: 48), String(repeating: "cd", count: 48)]] {
            var policy = world.policy()
            policy.expectedManifestDigests = digests
            do {
                _ = try await KeyProvisioner.provision(SecureBytes.random(count: 32), to: .unix("/nonexistent/enclava.sock"),
                                                       policy: policy, verifier: world.verifier)
                Issue.record("provisioned under a policy pinning \(digests.count) images")
            } catch let error as ClientError {
                #expect(error.code == .invalidInput && error.message.contains("exactly"), "\(error)")
            }
        }
    }

    /// The right key for a model that cannot load: MODEL_LOAD_FAILED to the owner, and the runtime stops with the
    /// reason as its exit failure (as a failed start would).
    @Test func aModelThatFailsAfterTheKeyStopsTheRuntime() async throws {
        let owned = try packageOwnerImage(model: Data("not an onnx model".utf8))
        defer { try? FileManager.default.removeItem(atPath: owned.folder) }
        let (runtime, endpoint) = try await world.startRuntime(imagePath: owned.image)
        do {
            _ = try await KeyProvisioner.provision(try OwnerKeyFile.load(path: owned.key), to: endpoint,
                                                   policy: world.policy(manifestDigest: owned.digest), verifier: world.verifier)
            Issue.record("a model that cannot load became ready")
        } catch let error as ClientError {
            #expect(error.remoteReason == RuntimeReason.modelLoadFailed, "\(error)")
        }
        await runtime.waitUntilStopped()
        let failure = try #require(await runtime.exitFailure)
        #expect(failure.code == .modelInvalid)
    }
}
