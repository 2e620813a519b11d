import EnclavaCrypto
import EnclavaWire

/// The enclave's session rules (DESIGN.md §2, §3) as a value type with no I/O: which evidence it issued to
/// which connection, which sessions each connection has open, which sequence number each expects next, and
/// which are poisoned.
///
/// Everything is bound to the connection it was created on (DESIGN.md §2): evidence issued on one
/// connection opens a session only on that connection (once: opening consumes it), a session answers only
/// on the connection that opened it, and ``connectionClosed(_:)`` forgets both. Each connection has a quota
/// of sessions and of unused evidence, and the enclave a global cap of each; a request over a quota or a cap
/// is refused (`RESOURCE_EXHAUSTED`), and nothing another connection holds is ever evicted for it.
///
/// The rules, in the order they are checked for a request:
/// 1. an unknown session id, or one opened on another connection → ``SessionRejection/sessionNotFound``;
/// 2. a poisoned session → ``SessionRejection/sessionPoisoned``;
/// 3. a sequence other than the next expected → ``SessionRejection/sequenceOutOfOrder(expected:received:)``,
///    without touching the HPKE context (the session stays usable);
/// 4. a ciphertext that does not authenticate → ``SessionRejection/requestDecryptionFailed``, and the
///    session is poisoned for good.
public struct SessionStateMachine: Sendable {
    /// Bounds on the state kept.
    public struct Limits: Sendable, Equatable {
        /// Open sessions kept over all connections; opening one more is refused (`SESSION_TABLE_FULL`).
        public var maxSessions: Int
        /// Open sessions one connection may hold; opening one more is refused (`SESSION_QUOTA_EXCEEDED`).
        public var maxSessionsPerConnection: Int
        /// Issued, not yet used evidence remembered over all connections; issuing one more is refused
        /// (`EVIDENCE_TABLE_FULL`).
        public var maxIssuedEvidence: Int
        /// Issued, not yet used evidence one connection may hold; issuing one more is refused
        /// (`EVIDENCE_QUOTA_EXCEEDED`).
        public var maxIssuedEvidencePerConnection: Int

        /// Creates limits (each at least 1). The defaults give 256 connections — `enclava serve`'s default
        /// connection cap — their full quotas before a global cap is reached, so through the bridge no
        /// connection can crowd another out of the tables.
        public init(maxSessions: Int = 1024, maxSessionsPerConnection: Int = 4,
                    maxIssuedEvidence: Int = 1024, maxIssuedEvidencePerConnection: Int = 4) {
            self.maxSessions = max(1, maxSessions)
            self.maxSessionsPerConnection = max(1, maxSessionsPerConnection)
            self.maxIssuedEvidence = max(1, maxIssuedEvidence)
            self.maxIssuedEvidencePerConnection = max(1, maxIssuedEvidencePerConnection)
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
        let owner: TTRPCConnectionID
        var recipient: HPKE.Recipient
        let schedule: SessionKeySchedule
        var nextSequence: UInt64 = 0
        var isPoisoned = false
    }

    /// What one connection holds.
    struct Holdings: Sendable {
        /// Digests of evidence issued on the connection and not yet used to open a session.
        var evidence: [[UInt8]] = []
        /// Ids of the sessions it opened.
        var sessions: Set<[UInt8]> = []
        var isEmpty: Bool { evidence.isEmpty && sessions.isEmpty }
    }

    /// The bounds in force.
    public let limits: Limits
    private let privateKey: X25519PrivateKey
    private var sessions: [[UInt8]: Session] = [:]
    private var holdings: [TTRPCConnectionID: Holdings] = [:]
    private var issuedCount = 0

    /// Creates an empty state machine for the enclave's HPKE key.
    public init(privateKey: X25519PrivateKey, limits: Limits = Limits()) {
        self.privateKey = privateKey
        self.limits = limits
    }

    /// The enclave's HPKE public key.
    public var publicKey: [UInt8] { privateKey.publicKey }

    /// Number of open (or poisoned) sessions over all connections.
    public var sessionCount: Int { sessions.count }

    /// Number of issued, not yet used evidence digests over all connections.
    public var issuedEvidenceCount: Int { issuedCount }

    /// Number of open sessions of one connection.
    public func sessionCount(of connection: TTRPCConnectionID) -> Int {
        holdings[connection]?.sessions.count ?? 0
    }

    /// Why evidence may not be issued on `connection` now (its quota or the global cap), or nil if it may.
    /// Checked before the platform is asked for evidence, which can be slow on hardware.
    public func evidenceRefusal(for connection: TTRPCConnectionID) -> SessionRejection? {
        if (holdings[connection]?.evidence.count ?? 0) >= limits.maxIssuedEvidencePerConnection {
            return .evidenceQuotaExceeded(limit: limits.maxIssuedEvidencePerConnection)
        }
        if issuedCount >= limits.maxIssuedEvidence { return .evidenceTableFull(limit: limits.maxIssuedEvidence) }
        return nil
    }

    /// Remembers the SHA-384 digest of an evidence blob handed out on `connection`.
    /// - Returns: nil, or why it was refused (see ``evidenceRefusal(for:)``); a refused digest is not kept.
    @discardableResult
    public mutating func evidenceIssued(digest: [UInt8], to connection: TTRPCConnectionID = .inProcess) -> SessionRejection? {
        if holdings[connection]?.evidence.contains(digest) == true { return nil }
        if let refusal = evidenceRefusal(for: connection) { return refusal }
        holdings[connection, default: Holdings()].evidence.append(digest)
        issuedCount += 1
        return nil
    }

    /// Whether `evidenceDigest` was issued on `connection` and not used yet.
    public func hasIssued(evidenceDigest: [UInt8], to connection: TTRPCConnectionID = .inProcess) -> Bool {
        holdings[connection]?.evidence.contains(evidenceDigest) == true
    }

    /// Uses up evidence issued on `connection` (a `ProvisionKey` that opened with it): it can neither open a
    /// session nor carry a key afterwards.
    /// - Returns: whether it was issued there and unused.
    @discardableResult
    public mutating func useEvidence(digest: [UInt8], connection: TTRPCConnectionID = .inProcess) -> Bool {
        guard hasIssued(evidenceDigest: digest, to: connection) else { return false }
        holdings[connection]?.evidence.removeAll { $0 == digest }
        if holdings[connection]?.isEmpty == true { holdings.removeValue(forKey: connection) }
        issuedCount -= 1
        return true
    }

    /// Opens a session whose HPKE `info` binds it to the given evidence. On success the evidence is used up.
    /// - Parameters:
    ///   - enc: the client's HPKE encapsulated key (32 bytes).
    ///   - evidenceDigest: SHA-384 of the evidence blob the client verified; must have been issued on
    ///     `connection` and not used yet.
    ///   - connection: the connection asking; the session is bound to it.
    ///   - sessionID: the new session's id (16 random bytes unless a test chooses).
    /// - Returns: the session id, or why the session was refused (nothing changes on a refusal).
    public mutating func openSession(
        enc: [UInt8], evidenceDigest: [UInt8], connection: TTRPCConnectionID = .inProcess,
        sessionID: [UInt8] = SecureRandom.bytes(count: SessionStateMachine.sessionIDByteCount)
    ) -> Result<[UInt8], SessionRejection> {
        guard hasIssued(evidenceDigest: evidenceDigest, to: connection) else { return .failure(.unknownEvidence) }
        guard enc.count == Self.encapsulatedKeyByteCount else { return .failure(.invalidEncapsulatedKey) }
        guard sessionCount(of: connection) < limits.maxSessionsPerConnection else {
            return .failure(.sessionQuotaExceeded(limit: limits.maxSessionsPerConnection))
        }
        guard sessions.count < limits.maxSessions else { return .failure(.sessionTableFull(limit: limits.maxSessions)) }
        guard sessions[sessionID] == nil else { return .failure(.invalidEncapsulatedKey) }   // 2^-128; never overwrite
        let recipient: HPKE.Recipient
        let schedule: SessionKeySchedule
        do {
            recipient = try HPKE.Recipient(privateKey: privateKey, encapsulatedKey: enc,
                                           info: SessionKeySchedule.info(evidenceDigest: evidenceDigest))
            schedule = try SessionKeySchedule(recipient: recipient)
        } catch {
            return .failure(.invalidEncapsulatedKey)
        }
        sessions[sessionID] = Session(owner: connection, recipient: recipient, schedule: schedule)
        holdings[connection, default: Holdings()].sessions.insert(sessionID)
        holdings[connection]?.evidence.removeAll { $0 == evidenceDigest }
        issuedCount -= 1
        return .success(sessionID)
    }

    /// Applies the session rules to one request and decrypts it.
    /// - Returns: the decrypted request, or why it was refused (see the type's rules).
    public mutating func openRequest(sessionID: [UInt8], sequence: UInt64, ciphertext: [UInt8],
                                     connection: TTRPCConnectionID = .inProcess) -> Result<OpenedRequest, SessionRejection> {
        guard var session = sessions[sessionID], session.owner == connection else { return .failure(.sessionNotFound) }
        defer { sessions[sessionID] = session }
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

    /// The next sequence number a session of `connection` expects, or nil for an unknown session.
    public func nextSequence(of sessionID: [UInt8], connection: TTRPCConnectionID = .inProcess) -> UInt64? {
        guard let session = sessions[sessionID], session.owner == connection else { return nil }
        return session.nextSequence
    }

    /// Forgets every session and every unused evidence digest of a connection that closed.
    public mutating func connectionClosed(_ connection: TTRPCConnectionID) {
        guard let held = holdings.removeValue(forKey: connection) else { return }
        for sessionID in held.sessions { sessions.removeValue(forKey: sessionID) }
        issuedCount -= held.evidence.count
    }

    /// Forgets every session and every evidence digest (at shutdown).
    public mutating func removeAll() {
        sessions.removeAll()
        holdings.removeAll()
        issuedCount = 0
    }
}
