import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import Foundation
import Synchronization
import Testing
@testable import EnclaveRuntime

/// Counts model loads, so a test can show that a refused key never reached the decryption step.
final class LoadCount: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

@Suite struct ProvisionKeyTests {
    /// A core that waits for its owner's key (``KeySource/owner``): a fake platform, an image identity whose
    /// key commitment is that of ``dek`` (``KeyWrap/ownerKeyID(for:)``, as in a signed header), and a model load
    /// that counts its calls.
    final class World: Sendable {
        let core = EnclaveCore(platform: FakePlatform())
        let dek = SecureBytes.random(count: 32)
        let manifestDigest = SHA2.sha384(Array("owned manifest".utf8))
        let loads = LoadCount()

        init(load: (@Sendable () async throws -> Void)? = nil) async throws {
            let keyID = try KeyWrap.ownerKeyID(for: dek)
            let digest = manifestDigest
            let loads = self.loads
            await core.awaitKey(ModelActivation(
                manifestDigest: digest, modelName: "owned",
                checkKey: { key in
                    guard constantTimeEquals(try KeyWrap.ownerKeyID(for: key), keyID) else {
                        throw ImageError(.wrongKey, "the key does not belong to this image")
                    }
                },
                load: { key in
                    #expect(key.count == 32)
                    loads.increment()
                    try await load?()
                    return .init(engine: EchoEngine(), manifestDigest: digest, modelName: "owned", threads: 1, maxQueue: 4)
                }))
        }

        /// GetEvidence on `connection`: the evidence digest and the HPKE key it binds.
        func evidence(on connection: TTRPCConnectionID) async throws -> (digest: [UInt8], publicKey: [UInt8]) {
            var request = Enclava_V1_GetEvidenceRequest()
            request.nonce = Data(SecureRandom.bytes(count: 32))
            let answer = try await core.getEvidence(request, connection: connection).get()
            #expect([UInt8](answer.manifestDigest) == manifestDigest)
            return (SHA2.sha384([UInt8](answer.evidence)), [UInt8](answer.hpkePublicKey))
        }

        /// A ProvisionKey sealing `key` (this image's by default) as `enclava provision` does, with any part
        /// replaceable.
        func request(_ key: SecureBytes? = nil, to evidence: (digest: [UInt8], publicKey: [UInt8]),
                     purpose: KeyReleaseSealing.Purpose = .ownerProvision, sealedDigest: [UInt8]? = nil,
                     manifestDigest: [UInt8]? = nil) throws -> Enclava_V1_ProvisionKeyRequest {
            let sealed = try KeyReleaseSealing.seal(key ?? dek, to: evidence.publicKey, purpose: purpose,
                                                    evidenceDigest: sealedDigest ?? evidence.digest,
                                                    manifestDigest: manifestDigest ?? self.manifestDigest)
            var request = Enclava_V1_ProvisionKeyRequest()
            request.enc = Data(sealed.enc)
            request.sealedKey = Data(sealed.ciphertext)
            request.evidenceDigest = Data(evidence.digest)
            return request
        }
    }

    @Test func healthStateMachineWaitsForTheKeyBetweenStartingAndLoading() {
        var health = HealthStateMachine()
        let waiting = health.awaitKey()
        #expect(waiting && health.isWaitingForKey && !health.isServing)
        #expect(health.wireState.state == .waitingForKey && health.wireState.message.contains("enclava provision"))
        #expect(health.notServingError.code == .failedPrecondition)
        #expect(health.notServingError.reason == RuntimeReason.waitingForKey)
        let waitingAgain = health.awaitKey()
        let loading = health.beginLoading()
        let waitingWhileLoading = health.awaitKey()
        let loaded = health.loaded()
        #expect(!waitingAgain && loading && !waitingWhileLoading && loaded && health.isServing)
        var failing = HealthStateMachine()
        failing.awaitKey()
        let failed = failing.failed("no key")
        #expect(failed && failing.state == .failed(reason: "no key"))
    }

    /// Waiting: Health says so, GetEvidence binds the image, sessions are refused with WAITING_FOR_KEY.
    @Test func aWaitingEnclaveServesEvidenceButNoSessions() async throws {
        let world = try await World()
        let health = await world.core.healthResponse()
        #expect(health.state == .waitingForKey && health.modelName == "owned")
        #expect(health.message == HealthStateMachine.waitingForKeyMessage)
        let evidence = try await world.evidence(on: .inProcess)
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(X25519PrivateKey().publicKey)
        open.evidenceDigest = Data(evidence.digest)
        let session = await world.core.openSession(open)
        #expect(session.failureCode == .failedPrecondition && session.failureReason == RuntimeReason.waitingForKey)
        #expect(await world.core.infer(.init()).failureReason == RuntimeReason.waitingForKey)
        #expect(await world.core.sessionTableCounts() == (0, 1))
    }

    /// The right key, sealed to evidence from this connection: loaded once, ready, and sessions work.
    @Test func theImagesKeyMakesTheEnclaveReady() async throws {
        let world = try await World()
        let connection = TTRPCConnectionID.next()
        let evidence = try await world.evidence(on: connection)
        let response = try await world.core.provisionKey(try world.request(to: evidence), connection: connection).get()
        #expect(response.state == .ready && response.modelName == "owned")
        #expect(world.loads.value == 1)
        #expect(await world.core.healthResponse().state == .ready)
        #expect(await world.core.sessionTableCounts() == (0, 0))   // the evidence was used up
        var client = try await ManualClient.open(world.core)
        let result = try client.result(try await world.core.infer(try client.request(floatPayload())).get())
        #expect(result.outputs["x_out"] != nil)
        // Once ready, another key is refused without effect.
        let again = try await world.evidence(on: connection)
        let second = await world.core.provisionKey(try world.request(to: again), connection: connection)
        #expect(second.failureCode == .failedPrecondition && second.failureReason == RuntimeReason.notWaitingForKey)
        #expect(world.loads.value == 1)
        await world.core.stop()
    }

    /// KEY_MISMATCH before anything is decrypted; the evidence is used up (the same request again is
    /// UNKNOWN_EVIDENCE); the enclave still waits, and a later right key works.
    @Test func aWrongKeyIsKeyMismatchAndALaterRightKeyStillWorks() async throws {
        let world = try await World()
        let connection = TTRPCConnectionID.next()
        let evidence = try await world.evidence(on: connection)
        let wrong = try world.request(SecureBytes.random(count: 32), to: evidence)
        let refused = await world.core.provisionKey(wrong, connection: connection)
        #expect(refused.failureCode == .invalidArgument && refused.failureReason == RuntimeReason.keyMismatch)
        #expect(world.loads.value == 0)
        #expect(await world.core.healthResponse().state == .waitingForKey)
        #expect(await world.core.provisionKey(wrong, connection: connection).failureReason == RuntimeReason.unknownEvidence)
        let fresh = try await world.evidence(on: connection)
        let accepted = try await world.core.provisionKey(try world.request(to: fresh), connection: connection).get()
        #expect(accepted.state == .ready)
        #expect(world.loads.value == 1)
        await world.core.stop()
    }

    enum Tamper: String, CaseIterable {
        case unknownEvidence, otherConnection, shortEnc, shortSealedKey, longSealedKey, sealedToOtherEvidence,
             sealedToOtherEnclave, brokerPurpose, otherImage, flippedByte
    }

    /// Every malformed or undecryptable request is refused with its own reason and changes nothing: the
    /// evidence it names stays usable, nothing is loaded, the enclave still waits.
    @Test(arguments: Tamper.allCases)
    func aBadRequestIsRefusedWithoutEffect(_ tamper: Tamper) async throws {
        let world = try await World()
        let connection = TTRPCConnectionID.next()
        let evidence = try await world.evidence(on: connection)
        var request = try world.request(to: evidence)
        var on = connection
        let expected: (RPCCode, String)
        switch tamper {
        case .unknownEvidence:
            request.evidenceDigest = Data(SecureRandom.bytes(count: 48))
            expected = (.failedPrecondition, RuntimeReason.unknownEvidence)
        case .otherConnection:
            on = TTRPCConnectionID.next()
            expected = (.failedPrecondition, RuntimeReason.unknownEvidence)
        case .shortEnc:
            request.enc = request.enc.prefix(31)
            expected = (.invalidArgument, RuntimeReason.invalidEncapsulatedKey)
        case .shortSealedKey:
            request.sealedKey = request.sealedKey.prefix(47)
            expected = (.invalidArgument, RuntimeReason.invalidEncapsulatedKey)
        case .longSealedKey:
            request.sealedKey.append(Data(count: 4096))
            expected = (.invalidArgument, RuntimeReason.invalidEncapsulatedKey)
        case .sealedToOtherEvidence:
            request = try world.request(to: evidence, sealedDigest: SHA2.sha384([1]))
            expected = (.invalidArgument, RuntimeReason.keyUnsealingFailed)
        case .sealedToOtherEnclave:
            request = try world.request(to: (evidence.digest, X25519PrivateKey().publicKey))
            expected = (.invalidArgument, RuntimeReason.keyUnsealingFailed)
        case .brokerPurpose:
            request = try world.request(to: evidence, purpose: .brokerRelease)
            expected = (.invalidArgument, RuntimeReason.keyUnsealingFailed)
        case .otherImage:
            request = try world.request(to: evidence, manifestDigest: SHA2.sha384([2]))
            expected = (.invalidArgument, RuntimeReason.keyUnsealingFailed)
        case .flippedByte:
            request.sealedKey[request.sealedKey.startIndex + 5] ^= 0x01
            expected = (.invalidArgument, RuntimeReason.keyUnsealingFailed)
        }
        let refused = await world.core.provisionKey(request, connection: on)
        #expect(refused.failureCode == expected.0 && refused.failureReason == expected.1, "\(tamper): \(refused)")
        #expect(world.loads.value == 0)
        #expect(await world.core.healthResponse().state == .waitingForKey)
        #expect(await world.core.sessionTableCounts() == (0, 1))
        // The evidence it named still carries the right key.
        let accepted = try await world.core.provisionKey(try world.request(to: evidence), connection: connection).get()
        #expect(accepted.state == .ready)
        await world.core.stop()
    }

    /// While a released key loads, Health says loading and another ProvisionKey is refused without effect.
    @Test func aSecondKeyWhileLoadingIsRefused() async throws {
        let (stream, release) = AsyncStream<Void>.makeStream()
        let world = try await World(load: { for await _ in stream { break } })
        let connection = TTRPCConnectionID.next()
        let first = try await world.evidence(on: connection)
        let second = try await world.evidence(on: connection)
        let core = world.core
        let request = try world.request(to: first)
        let pending = Task { await core.provisionKey(request, connection: connection) }
        try await waitUntil { await core.healthResponse().state == .loading }
        let refused = await core.provisionKey(try world.request(to: second), connection: connection)
        #expect(refused.failureReason == RuntimeReason.notWaitingForKey && refused.failureCode == .failedPrecondition)
        #expect(refused.failureMessage?.contains("loading") == true)
        var nonce = Enclava_V1_GetEvidenceRequest()
        nonce.nonce = Data(SecureRandom.bytes(count: 32))
        #expect(await core.getEvidence(nonce).failureReason == RuntimeReason.notReady)
        release.yield()
        #expect(try await pending.value.get().state == .ready)
        #expect(world.loads.value == 1)
        await core.stop()
    }

    /// A model that does not load after the right key: MODEL_LOAD_FAILED, the enclave fails (Health says why) and
    /// refuses any further key.
    @Test func aModelThatFailsToLoadFailsTheEnclave() async throws {
        let world = try await World(load: { throw RuntimeError(.modelInvalid, "cannot load the model model.onnx: bad opset") })
        let connection = TTRPCConnectionID.next()
        let evidence = try await world.evidence(on: connection)
        let refused = await world.core.provisionKey(try world.request(to: evidence), connection: connection)
        #expect(refused.failureCode == .internal && refused.failureReason == RuntimeReason.modelLoadFailed)
        #expect(refused.failureMessage?.contains("bad opset") == true)
        let health = await world.core.healthResponse()
        #expect(health.state == .failed && health.message.contains("bad opset"))
        let again = await world.core.provisionKey(try world.request(to: evidence), connection: connection)
        #expect(again.failureReason == RuntimeReason.notWaitingForKey)
    }

    /// A ProvisionKey captured from one enclave and replayed to another (a restart has a new HPKE key and has
    /// issued none of that evidence) is refused, and so is the capture re-pointed at the second enclave's own
    /// evidence.
    @Test func aCapturedProvisionKeyDoesNotOpenOnAnotherEnclave() async throws {
        let first = try await World()
        let connection = TTRPCConnectionID.next()
        let captured = try first.request(to: try await first.evidence(on: connection))
        let restarted = try await World()
        let replayed = await restarted.core.provisionKey(captured, connection: connection)
        #expect(replayed.failureReason == RuntimeReason.unknownEvidence)
        var repointed = captured
        repointed.evidenceDigest = Data(try await restarted.evidence(on: connection).digest)
        let opened = await restarted.core.provisionKey(repointed, connection: connection)
        #expect(opened.failureReason == RuntimeReason.keyUnsealingFailed)
        #expect(restarted.loads.value == 0)
        #expect(await restarted.core.healthResponse().state == .waitingForKey)
    }
}

extension Result where Failure == RPCError {
    var failureMessage: String? { if case .failure(let error) = self { error.message } else { nil } }
}
