import EnclavaAttestation
import EnclavaCrypto
import EnclavaKeyBroker
import EnclavaWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import SwiftProtobuf

/// The `enclava.keybroker.v1.KeyBroker` service (Protos/keybroker.proto) over a ``KeyBrokerStore``.
///
/// `RequestKey` issues a challenge bound to the connection (``ChallengeBook``). `Attest` takes it (single use),
/// verifies the evidence with the same ``EvidenceVerifier`` and ``AttestationPolicy`` code as `enclava infer`,
/// against the image's stored policy, with the challenge's nonce, the image's manifest digest and the enclave's
/// fresh key bound in the report data; then seals the model key to that key (``KeyReleaseSealing``, purpose
/// `brokerRelease`, info binding the evidence digest, AAD the manifest digest).
///
/// Every decision is appended to the audit log — and is on disk — **before** the answer is returned; if the
/// audit line cannot be written, no key leaves. Every refusal is ``KeyBrokerProtocol/refusal``, the same bytes
/// whatever failed; the audit line says which field failed and why.
public final class KeyBrokerService: TTRPCServiceHandler {
    let store: KeyBrokerStore
    let verifier: EvidenceVerifier
    let clock: @Sendable () -> Date
    let challenges: NIOLockedValueBox<ChallengeBook>
    let peers = NIOLockedValueBox<[TTRPCConnectionID: String]>([:])
    let logger: Logger

    /// A service over `store`.
    /// - Parameters:
    ///   - store: the images, keys and audit log.
    ///   - verifier: the evidence verifier: simulated roots to trust for policies that allow simulation without
    ///     pinning a root, and the broker's own Intel collateral (`--collateral`, `--collateral-cache`). Intel
    ///     evidence without collateral (the broker's or relayed) is refused (`COLLATERAL_MISSING`).
    ///   - challenges: the challenge bounds.
    ///   - clock: the time (tests move it).
    ///   - logger: one line per decision.
    public init(store: KeyBrokerStore, verifier: EvidenceVerifier, challenges: ChallengeBook = ChallengeBook(),
                clock: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "enclava.keybroker")) {
        self.store = store
        self.verifier = verifier
        self.challenges = NIOLockedValueBox(challenges)
        self.clock = clock
        self.logger = logger
    }

    public func supports(service: String, method: String) -> Bool {
        service == KeyBrokerProtocol.serviceName && KeyBrokerProtocol.Method(rawValue: method) != nil
    }

    public func connectionOpened(_ connection: TTRPCConnectionID, peer: String) {
        peers.withLockedValue { $0[connection] = peer }
    }

    public func connectionClosed(_ connection: TTRPCConnectionID) async {
        challenges.withLockedValue { $0.drop(connection: connection) }
        _ = peers.withLockedValue { $0.removeValue(forKey: connection) }
    }

    public func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        answer(method: method, payload: payload, connection: .inProcess)
    }

    public func admit(method: String, service: String, payload: [UInt8], connection: TTRPCConnectionID) async
        -> TTRPCAdmittedCall {
        // The decision runs synchronously to its end (audit line on disk, then the answer): a client that hangs up
        // mid-call cannot interrupt it between the release and its audit line.
        { self.answer(method: method, payload: payload, connection: connection) }
    }

    /// Answers one call (synchronously: verification, the store and the audit line).
    public func answer(method: String, payload: [UInt8], connection: TTRPCConnectionID) -> Result<[UInt8], RPCError> {
        let peer = peers.withLockedValue { $0[connection] } ?? "in-process"
        switch KeyBrokerProtocol.Method(rawValue: method) {
        case .requestKey: return requestKey(payload, connection: connection, peer: peer)
        case .attest: return attest(payload, connection: connection, peer: peer)
        case nil: return .failure(RPCError(.unimplemented, reason: "UNKNOWN_METHOD", message: "\(method) is not served here"))
        }
    }

    func requestKey(_ payload: [UInt8], connection: TTRPCConnectionID, peer: String) -> Result<[UInt8], RPCError> {
        let request: KeyBrokerMessages.KeyRequest
        do {
            request = try KeyBrokerMessages.keyRequest(payload)
        } catch let invalid as KeyBrokerMessages.Invalid {
            return refuse(AuditEntry(time: "", image: "", manifestDigest: "", decision: .refused, field: invalid.field,
                                     reason: "RequestKey: \(invalid.message)", peer: peer))
        } catch {
            return .failure(KeyBrokerProtocol.refusal)
        }
        let issued: ChallengeBook.Entry
        do {
            issued = try challenges.withLockedValue { try $0.issue(request, connection: connection, now: clock()) }
        } catch {
            let problem = error as? ChallengeBook.Problem ?? .tooManyOpen
            logger.notice("challenge refused: \(problem.reason)", metadata: ["peer": "\(peer)"])
            return .failure(RPCError(.resourceExhausted, reason: "TOO_MANY_CHALLENGES",
                                     message: "\(problem.reason); finish or close the open requests first"))
        }
        var answer = Enclava_Keybroker_V1_KeyChallenge()
        answer.challengeID = Data(issued.id)
        answer.nonce = Data(issued.nonce)
        return serialize(answer)
    }

    func attest(_ payload: [UInt8], connection: TTRPCConnectionID, peer: String) -> Result<[UInt8], RPCError> {
        let attestation: KeyBrokerMessages.Attestation
        do {
            attestation = try KeyBrokerMessages.attestation(payload)
        } catch let invalid as KeyBrokerMessages.Invalid {
            return refuse(AuditEntry(time: "", image: "", manifestDigest: "", decision: .refused, field: invalid.field,
                                     reason: "Attest: \(invalid.message)", peer: peer))
        } catch {
            return .failure(KeyBrokerProtocol.refusal)
        }
        var line = AuditEntry(time: "", image: "", manifestDigest: "", platform: attestation.evidence.platform.rawValue,
                              decision: .refused, peer: peer)
        let challenge: ChallengeBook.Entry
        do {
            challenge = try challenges.withLockedValue { try $0.take(attestation.challengeID, connection: connection, now: clock()) }
        } catch {
            line.field = "challenge_id"
            line.reason = (error as? ChallengeBook.Problem)?.reason ?? "\(error)"
            return refuse(line)
        }
        line.image = challenge.request.imageName
        line.manifestDigest = Hex.encode(challenge.request.manifestDigest)
        return release(attestation, challenge: challenge, line: line)
    }

    func release(_ attestation: KeyBrokerMessages.Attestation, challenge: ChallengeBook.Entry, line: AuditEntry)
        -> Result<[UInt8], RPCError> {
        var line = line
        let image: BrokerImage
        let policy: AttestationPolicy
        do {
            guard let found = try store.image(manifestDigest: challenge.request.manifestDigest) else {
                line.field = "manifest_digest"
                line.reason = "no image with this manifest digest is in the store"
                return refuse(line)
            }
            image = found
            line.image = found.name
            guard !found.revoked else {
                line.field = "revoked"
                line.reason = "the image was revoked (`enclava keybroker revoke`)"
                return refuse(line)
            }
            policy = try found.policy()
        } catch {
            line.field = "store"
            line.reason = "\(error)"
            return refuse(line)
        }
        let verified: VerifiedEvidence
        do {
            verified = try verifier.verify(attestation.evidence, nonce: challenge.nonce,
                                           manifestDigest: image.manifestDigest,
                                           hpkePublicKey: attestation.hpkePublicKey, policy: policy, at: clock())
        } catch let error as AttestationError {
            line.field = error.field ?? error.code.rawValue
            line.reason = error.description
            if let actual = error.actual, error.field?.contains("measurement") == true || error.code == .measurementMismatch {
                line.measurement = actual
            }
            return refuse(line)
        } catch {
            line.field = "evidence"
            line.reason = "\(error)"
            return refuse(line)
        }
        line.platform = verified.platform.rawValue + (verified.isSimulated ? "+sim" : "")
        line.measurement = verified.measurementHex
        line.tcb = Self.tcbText(verified)
        let sealed: KeyReleaseSealing.Sealed
        do {
            let dek = try store.modelKey(manifestDigest: image.manifestDigest)
            sealed = try KeyReleaseSealing.seal(dek, to: verified.hpkePublicKey, purpose: .brokerRelease,
                                                evidenceDigest: verified.evidenceDigest,
                                                manifestDigest: image.manifestDigest)
        } catch {
            line.field = "store"
            line.reason = "the stored key could not be sealed: \(error)"
            return refuse(line)
        }
        line.decision = .released
        line.time = KeyBrokerStore.timestamp(clock())
        do {
            try store.appendAudit(line)   // on disk before the key leaves
        } catch {
            logger.error("no release: the audit line could not be written: \(error)")
            return .failure(KeyBrokerProtocol.refusal)
        }
        logger.info("released", metadata: ["image": "\(line.image)", "measurement": "\(line.measurement.prefix(16))",
                                           "peer": "\(line.peer)"])
        var answer = Enclava_Keybroker_V1_KeyRelease()
        answer.enc = Data(sealed.enc)
        answer.sealedKey = Data(sealed.ciphertext)
        return serialize(answer)
    }

    /// Writes the refusal's audit line (on disk before the answer) and returns the one generic refusal.
    func refuse(_ line: AuditEntry) -> Result<[UInt8], RPCError> {
        var line = line
        line.decision = .refused
        line.time = KeyBrokerStore.timestamp(clock())
        do {
            try store.appendAudit(line)
        } catch {
            logger.error("the audit line of a refusal could not be written: \(error)")
        }
        logger.notice("refused", metadata: ["image": "\(line.image)", "field": "\(line.field)", "reason": "\(line.reason)",
                                            "peer": "\(line.peer)"])
        return .failure(KeyBrokerProtocol.refusal)
    }

    func serialize(_ message: some SwiftProtobuf.Message) -> Result<[UInt8], RPCError> {
        do {
            return .success(try message.serializedBytes())
        } catch {
            return .failure(RPCError(.internal, reason: "ENCODING_FAILED", message: "the answer could not be serialized"))
        }
    }

    /// The TCB the evidence reported, as text (SNP levels, or the Intel TCB status and date).
    static func tcbText(_ verified: VerifiedEvidence) -> String {
        if let levels = verified.attested?.snpTCB { return levels.description }
        if let tcb = verified.attested?.tcb { return "\(tcb.status.rawValue) (\(tcb.tcbDate))" }
        return ""
    }
}
