import EnclavaCrypto
import EnclavaWire

/// The enclave's session rules (DESIGN.md §3) as a value type with no I/O: which evidence it issued,
/// which sessions are open, which sequence number each expects next, and which are poisoned.
///
/// The rules, in the order they are checked for a request:
/// 1. an unknown session id → ``SessionRejection/sessionNotFound``;
/// 2. a poisoned session → ``SessionRejection/sessionPoisoned``;
/// 3. a sequence other than the next expected → ``SessionRejection/sequenceOutOfOrder(expected:received:)``,
///    without touching the HPKE context (the session stays usable);
/// 4. a ciphertext that does not authenticate → ``SessionRejection/requestDecryptionFailed``, and the
///    session is poisoned for good.
public struct SessionStateMachine: Sendable {
    /// Bounds on the state kept.
    public struct Limits: Sendable, Equatable {
        /// Open sessions kept; opening one more evicts the least recently used.
        public var maxSessions: Int
        /// Evidence digests remembered for OpenSession; issuing one more forgets the oldest.
        public var maxIssuedEvidence: Int

        /// Creates limits.
        public init(maxSessions: Int = 1024, maxIssuedEvidence: Int = 256) {
            self.maxSessions = max(1, maxSessions)
            self.maxIssuedEvidence = max(1, maxIssuedEvidence)
        }
    }

    /// Byte count of a session id.
    public static let sessionIDByteCount = 16
    /// Byte count of an HPKE `enc` (X25519 public key).
    public static let encapsulatedKeyByteCount = 32

    /// A request that passed every rule and decrypted.
    public struct OpenedRequest: Sendable {
        /// The session it belongs to.
        public let sessionID: [UInt8]
        /// Its sequence number.
        public let sequence: UInt64
        /// The decrypted `InferPayload` bytes.
        public let plaintext: SecureBytes
        /// The session's response keys.
        public let schedule: SessionKeySchedule
    }

    struct Session: Sendable {
        var recipient: HPKE.Recipient
        let schedule: SessionKeySchedule
        var nextSequence: UInt64 = 0
        var isPoisoned = false
    }

    private let privateKey: X25519PrivateKey
    private var issuedEvidence: BoundedRecentSet<[UInt8]>
    private var sessions: LRUTable<[UInt8], Session>

    /// Creates an empty state machine for the enclave's HPKE key.
    public init(privateKey: X25519PrivateKey, limits: Limits = Limits()) {
        self.privateKey = privateKey
        self.issuedEvidence = BoundedRecentSet(capacity: limits.maxIssuedEvidence)
        self.sessions = LRUTable(capacity: limits.maxSessions)
    }

    /// The enclave's HPKE public key.
    public var publicKey: [UInt8] { privateKey.publicKey }

    /// Number of open (or poisoned, not yet evicted) sessions.
    public var sessionCount: Int { sessions.count }

    /// Remembers the SHA-384 digest of an evidence blob this enclave handed out.
    public mutating func evidenceIssued(digest: [UInt8]) {
        issuedEvidence.insert(digest)
    }

    /// Whether an evidence digest is one this enclave issued (and still remembers).
    public func hasIssued(evidenceDigest: [UInt8]) -> Bool {
        issuedEvidence.contains(evidenceDigest)
    }

    /// Opens a session whose HPKE `info` binds it to the given evidence.
    /// - Parameters:
    ///   - enc: the client's HPKE encapsulated key (32 bytes).
    ///   - evidenceDigest: SHA-384 of the evidence blob the client verified; must be one this enclave issued.
    ///   - sessionID: the new session's id (16 random bytes unless a test chooses).
    /// - Returns: the session id, or why the session was refused.
    public mutating func openSession(
        enc: [UInt8], evidenceDigest: [UInt8],
        sessionID: [UInt8] = SecureRandom.bytes(count: SessionStateMachine.sessionIDByteCount)
    ) -> Result<[UInt8], SessionRejection> {
        guard issuedEvidence.contains(evidenceDigest) else { return .failure(.unknownEvidence) }
        guard enc.count == Self.encapsulatedKeyByteCount else { return .failure(.invalidEncapsulatedKey) }
        let recipient: HPKE.Recipient
        let schedule: SessionKeySchedule
        do {
            recipient = try HPKE.Recipient(privateKey: privateKey, encapsulatedKey: enc,
                                           info: SessionKeySchedule.info(evidenceDigest: evidenceDigest))
            schedule = try SessionKeySchedule(recipient: recipient)
        } catch {
            return .failure(.invalidEncapsulatedKey)
        }
        sessions.insert(Session(recipient: recipient, schedule: schedule), for: sessionID)
        return .success(sessionID)
    }

    /// Applies the session rules to one request and decrypts it.
    /// - Returns: the decrypted request, or why it was refused (see the type's rules).
    public mutating func openRequest(sessionID: [UInt8], sequence: UInt64,
                                     ciphertext: [UInt8]) -> Result<OpenedRequest, SessionRejection> {
        let outcome = sessions.update(sessionID) { session -> Result<OpenedRequest, SessionRejection> in
            if session.isPoisoned { return .failure(.sessionPoisoned) }
            guard sequence == session.nextSequence else {
                return .failure(.sequenceOutOfOrder(expected: session.nextSequence, received: sequence))
            }
            let aad = SessionKeySchedule.requestAAD(sessionID: sessionID, sequence: sequence)
            do {
                let plaintext = try session.recipient.open(ciphertext, aad: aad)
                session.nextSequence += 1
                return .success(OpenedRequest(sessionID: sessionID, sequence: sequence, plaintext: plaintext,
                                              schedule: session.schedule))
            } catch {
                session.isPoisoned = true
                return .failure(.requestDecryptionFailed)
            }
        }
        return outcome ?? .failure(.sessionNotFound)
    }

    /// The next sequence number a session expects, or nil for an unknown session.
    public mutating func nextSequence(of sessionID: [UInt8]) -> UInt64? {
        sessions.update(sessionID) { $0.nextSequence }
    }

    /// Forgets every session and every evidence digest (at shutdown).
    public mutating func removeAll() {
        sessions.removeAll()
        issuedEvidence = BoundedRecentSet(capacity: issuedEvidence.capacity)
    }
}
