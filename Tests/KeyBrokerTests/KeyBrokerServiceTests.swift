import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclavaKeyBroker
import EnclavaWire
import EnclavePlatform
import Foundation
import SwiftProtobuf
import Testing
@testable import KeyBroker

/// The service over a real ttrpc server on a loopback port, driven by the enclave's own client.
@Suite("Key broker service", .serialized)
struct KeyBrokerServiceTests {
    let fixture = BrokerFixture.shared

    /// A server over a store holding the fixture image; `body` gets its endpoint.
    func withServer(_ store: KeyBrokerStore, clock: @escaping @Sendable () -> Date = { Date() },
                    _ body: (TTRPCEndpoint) async throws -> Void) async throws {
        let service = KeyBrokerService(store: store, verifier: fixture.verifier, clock: clock)
        let server = try await TTRPCServer.bind(host: "127.0.0.1", port: 0, handler: service,
                                                maxFrameBytes: KeyBrokerProtocol.maxFrameBytes)
        do {
            try await body(.tcp("127.0.0.1", server.port ?? 0))
        } catch {
            await server.close()
            throw error
        }
        await server.close()
    }

    var platform: SimPlatform { get throws { try SimPlatform(home: fixture.home, executablePath: fixture.runtimePath) } }
    var image: EnclaveImage { get throws { try EnclaveImage.open(path: fixture.imagePath) } }

    @Test("an attested enclave receives exactly its image's key, and the release is audited with what it proved")
    func release() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        try await withServer(store) { endpoint in
            let dek = try await KeyBrokerClient.requestDEK(from: endpoint, manifestDigest: image.manifestDigest,
                                                           imageName: "broker-model", backend: "sim") {
                try platform.evidence(reportData: $0)
            }
            #expect(dek == (try OwnerKeyFile.load(path: fixture.ownerKeyPath)))
            try image.checkOwnerKey(dek)
        }
        let last = try #require(try store.auditLog().last)
        #expect(last.decision == .released)
        #expect(last.platform == "sev-snp+sim")
        #expect(last.measurement == Hex.encode(platform.measurement))
        #expect(last.image == "broker-model")
        #expect(last.peer.contains("127.0.0.1"))
        #expect(!last.tcb.isEmpty)
    }

    @Test("another measurement is refused; the enclave learns nothing, the audit line names the policy field")
    func wrongMeasurement() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A rebuilt runtime: another executable, so another measurement.
        let rebuilt = folder.appendingPathComponent("rebuilt-runtime").path
        try Data("another runtime".utf8).write(to: URL(fileURLWithPath: rebuilt))
        let other = try SimPlatform(home: fixture.home, executablePath: rebuilt)
        let image = try image
        try await withServer(store) { endpoint in
            let error = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.requestDEK(from: endpoint, manifestDigest: image.manifestDigest,
                                                     imageName: "broker-model", backend: "sim") { try other.evidence(reportData: $0) }
            }
            #expect(error.code == .refused)
            #expect(error.remote?.reason == KeyBrokerProtocol.refusalReason)
            #expect(error.remote?.message.contains("measurement") == false)
        }
        let last = try #require(try store.auditLog().last)
        #expect(last.decision == .refused)
        #expect(last.field == "expected_measurements" || last.reason.contains("MEASUREMENT_MISMATCH"))
        #expect(last.reason.contains(Hex.encode(other.measurement)))
    }

    @Test("two different refusal causes give byte-identical answers")
    func refusalsAreIdentical() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        try await withServer(store) { endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            defer { Task { await client.close() } }
            // Cause 1: an image the store does not hold.
            let unknown = try await rawAttestStatus(client, manifestDigest: [UInt8](repeating: 1, count: 48), platform: platform)
            // Cause 2: the right image, but the evidence binds another nonce (a stale or forged report).
            let stale = try await rawAttestStatus(client, manifestDigest: image.manifestDigest, platform: platform,
                                                  nonceOverride: [UInt8](repeating: 9, count: 32))
            // Cause 3: a challenge id never issued.
            var attest = Enclava_Keybroker_V1_AttestRequest()
            attest.challengeID = Data(repeating: 3, count: 16)
            attest.format = .sevSnp
            attest.evidence = Data([1])
            attest.hpkePublicKey = Data(repeating: 5, count: 32)
            let never = try await statusBytes(client, .attest, try attest.serializedBytes())
            #expect(unknown == stale)
            #expect(stale == never)
            let status = try Google_Rpc_Status(serializedBytes: unknown)
            #expect(status.code == RPCCode.permissionDenied.rawValue)
        }
        let refused = try store.auditLog().filter { $0.decision == .refused }
        #expect(refused.map(\.field) == ["manifest_digest", "REPORT_DATA[0..<32]", "challenge_id"])
    }

    @Test("a replayed challenge is refused, and an answer opens only with the enclave's fresh key")
    func replay() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        try await withServer(store) { endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            defer { Task { await client.close() } }
            let challenge = try await KeyBrokerClient.requestChallenge(using: client, manifestDigest: image.manifestDigest,
                                                                       imageName: "broker-model", backend: "sim")
            let key = X25519PrivateKey()
            let evidence = try platform.evidence(reportData: ReportData.make(nonce: challenge.nonce,
                                                                             manifestDigest: image.manifestDigest,
                                                                             hpkePublicKey: key.publicKey))
            let sealed = try await KeyBrokerClient.attest(using: client, challengeID: challenge.id, evidence: evidence,
                                                          hpkePublicKey: key.publicKey)
            let replayed = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.attest(using: client, challengeID: challenge.id, evidence: evidence,
                                                 hpkePublicKey: key.publicKey)
            }
            #expect(replayed.code == .refused)
            // The captured answer: useless with any other key (another enclave, or this one's next release).
            #expect(throws: CryptoError.self) {
                try KeyReleaseSealing.open(sealed, privateKey: X25519PrivateKey(), purpose: .brokerRelease,
                                           evidenceDigest: SHA2.sha384(evidence.blob), manifestDigest: image.manifestDigest)
            }
            let dek = try KeyReleaseSealing.open(sealed, privateKey: key, purpose: .brokerRelease,
                                                 evidenceDigest: SHA2.sha384(evidence.blob), manifestDigest: image.manifestDigest)
            try image.checkOwnerKey(dek)
        }
        let fields = try store.auditLog().map { "\($0.decision.rawValue):\($0.field)" }
        #expect(fields == ["added:", "released:", "refused:challenge_id"])
    }

    @Test("a challenge answered on another connection is refused; a fifth open challenge on one connection is not issued")
    func connectionBinding() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        try await withServer(store) { endpoint in
            let asker = try await TTRPCClient.connect(to: endpoint)
            let thief = try await TTRPCClient.connect(to: endpoint)
            defer { Task { await asker.close(); await thief.close() } }
            let challenge = try await KeyBrokerClient.requestChallenge(using: asker, manifestDigest: image.manifestDigest,
                                                                       imageName: "broker-model", backend: "sim")
            let key = X25519PrivateKey()
            let evidence = try platform.evidence(reportData: ReportData.make(nonce: challenge.nonce,
                                                                             manifestDigest: image.manifestDigest,
                                                                             hpkePublicKey: key.publicKey))
            let stolen = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.attest(using: thief, challengeID: challenge.id, evidence: evidence,
                                                 hpkePublicKey: key.publicKey)
            }
            #expect(stolen.code == .refused)
            // The thief's attempt spent it: the asker cannot use it either.
            let spent = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.attest(using: asker, challengeID: challenge.id, evidence: evidence,
                                                 hpkePublicKey: key.publicKey)
            }
            #expect(spent.code == .refused)
            for _ in 0..<4 {
                _ = try await KeyBrokerClient.requestChallenge(using: asker, manifestDigest: image.manifestDigest,
                                                               imageName: "broker-model", backend: "sim")
            }
            let fifth = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.requestChallenge(using: asker, manifestDigest: image.manifestDigest,
                                                           imageName: "broker-model", backend: "sim")
            }
            #expect(fifth.remote?.code == .resourceExhausted)
            #expect(fifth.remote?.reason == "TOO_MANY_CHALLENGES")
        }
        let reasons = try store.auditLog().filter { $0.decision == .refused }.map(\.reason)
        #expect(reasons.first?.contains("another connection") == true)
    }

    @Test("a challenge answered after it expired is refused")
    func expired() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        let offset = LockedOffset()
        try await withServer(store, clock: { Date().addingTimeInterval(offset.value) }) { endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            defer { Task { await client.close() } }
            let challenge = try await KeyBrokerClient.requestChallenge(using: client, manifestDigest: image.manifestDigest,
                                                                       imageName: "broker-model", backend: "sim")
            offset.value = 61
            let key = X25519PrivateKey()
            let evidence = try platform.evidence(reportData: ReportData.make(nonce: challenge.nonce,
                                                                             manifestDigest: image.manifestDigest,
                                                                             hpkePublicKey: key.publicKey))
            let error = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.attest(using: client, challengeID: challenge.id, evidence: evidence,
                                                 hpkePublicKey: key.publicKey)
            }
            #expect(error.code == .refused)
        }
        #expect(try store.auditLog().last?.reason.contains("expired") == true)
    }

    @Test("a revoked image's key is no longer released")
    func revoked() async throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let platform = try platform
        let image = try image
        try store.revoke("broker-model")
        try await withServer(store) { endpoint in
            let error = try await #require(throws: KeyBrokerClientError.self) {
                try await KeyBrokerClient.requestDEK(from: endpoint, manifestDigest: image.manifestDigest,
                                                     imageName: "broker-model", backend: "sim") { try platform.evidence(reportData: $0) }
            }
            #expect(error.code == .refused)
        }
        #expect(try store.auditLog().last?.field == "revoked")
    }

    /// RequestKey then Attest with the platform's evidence (optionally over another nonce), returning the serialized
    /// `google.rpc.Status` of the refusal.
    func rawAttestStatus(_ client: TTRPCClient, manifestDigest: [UInt8], platform: SimPlatform,
                         nonceOverride: [UInt8]? = nil) async throws -> [UInt8] {
        let challenge = try await KeyBrokerClient.requestChallenge(using: client, manifestDigest: manifestDigest,
                                                                   imageName: "probe", backend: "sim")
        let key = X25519PrivateKey()
        let evidence = try platform.evidence(reportData: ReportData.make(nonce: nonceOverride ?? challenge.nonce,
                                                                         manifestDigest: manifestDigest,
                                                                         hpkePublicKey: key.publicKey))
        var attest = Enclava_Keybroker_V1_AttestRequest()
        attest.challengeID = Data(challenge.id)
        attest.format = .sevSnp
        attest.evidence = Data(evidence.blob)
        attest.certificates = evidence.certificates.map { Data($0) }
        attest.hpkePublicKey = Data(key.publicKey)
        return try await statusBytes(client, .attest, try attest.serializedBytes())
    }

    /// The serialized status of a call that must fail.
    func statusBytes(_ client: TTRPCClient, _ method: KeyBrokerProtocol.Method, _ payload: [UInt8]) async throws -> [UInt8] {
        do {
            _ = try await client.call(service: KeyBrokerProtocol.serviceName, method: method.rawValue, payload: payload)
        } catch let error as RPCError {
            return try error.status.serializedBytes()
        }
        Issue.record("\(method.rawValue) succeeded; a refusal was expected")
        return []
    }
}

/// A clock offset the test moves.
final class LockedOffset: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: TimeInterval = 0
    var value: TimeInterval {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
