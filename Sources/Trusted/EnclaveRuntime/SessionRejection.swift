import EnclavaWire

/// Why ``SessionStateMachine`` refused an OpenSession or Infer call.
public enum SessionRejection: Error, Equatable, Sendable {
    /// The evidence digest is not one this enclave issued.
    case unknownEvidence
    /// `enc` is not a valid 32-byte X25519 public key.
    case invalidEncapsulatedKey
    /// No such session on this connection (never opened, opened on another connection, or ended with its connection).
    case sessionNotFound
    /// The session failed to decrypt an earlier request and is closed for good.
    case sessionPoisoned
    /// The sequence number is not the next one expected.
    case sequenceOutOfOrder(expected: UInt64, received: UInt64)
    /// The request ciphertext did not authenticate; the session is now poisoned.
    case requestDecryptionFailed
    /// The connection already holds its quota of open sessions.
    case sessionQuotaExceeded(limit: Int)
    /// The enclave holds its global cap of open sessions.
    case sessionTableFull(limit: Int)
    /// The connection already holds its quota of issued, unused evidence.
    case evidenceQuotaExceeded(limit: Int)
    /// The enclave holds its global cap of issued, unused evidence.
    case evidenceTableFull(limit: Int)

    /// The stable ``RuntimeReason`` of this rejection.
    public var reason: String {
        switch self {
        case .unknownEvidence: RuntimeReason.unknownEvidence
        case .invalidEncapsulatedKey: RuntimeReason.invalidEncapsulatedKey
        case .sessionNotFound: RuntimeReason.sessionNotFound
        case .sessionPoisoned: RuntimeReason.sessionPoisoned
        case .sequenceOutOfOrder: RuntimeReason.sequenceOutOfOrder
        case .requestDecryptionFailed: RuntimeReason.requestDecryptionFailed
        case .sessionQuotaExceeded: RuntimeReason.sessionQuotaExceeded
        case .sessionTableFull: RuntimeReason.sessionTableFull
        case .evidenceQuotaExceeded: RuntimeReason.evidenceQuotaExceeded
        case .evidenceTableFull: RuntimeReason.evidenceTableFull
        }
    }

    /// The error the enclave answers with.
    public var rpcError: RPCError {
        switch self {
        case .unknownEvidence:
            RPCError(.failedPrecondition, reason: reason,
                     message: "the evidence digest is not one this enclave issued on this connection, or it was already used "
                         + "to open a session; call GetEvidence again on the connection that will open the session")
        case .invalidEncapsulatedKey:
            RPCError(.invalidArgument, reason: reason,
                     message: "enc must be a 32-byte X25519 public key produced by HPKE SetupBaseS")
        case .sessionNotFound:
            RPCError(.notFound, reason: reason,
                     message: "no such session on this connection (never opened, opened on another connection, or ended "
                         + "when its connection closed); attest and open a new session on this connection")
        case .sessionPoisoned:
            RPCError(.failedPrecondition, reason: reason,
                     message: "this session failed to decrypt a request and is closed; open a new session")
        case .sequenceOutOfOrder(let expected, let received):
            RPCError(.failedPrecondition, reason: reason,
                     message: "request sequence \(received) is out of order; the session expects \(expected)")
        case .requestDecryptionFailed:
            RPCError(.permissionDenied, reason: reason,
                     message: "the request did not decrypt (tampered or wrong key); the session is now closed")
        case .sessionQuotaExceeded(let limit):
            RPCError(.resourceExhausted, reason: reason,
                     message: "this connection already has \(limit) open sessions, its quota; use one of them, or close "
                         + "this connection (which ends its sessions) and open a new one",
                     metadata: ["limit": String(limit)])
        case .sessionTableFull(let limit):
            RPCError(.resourceExhausted, reason: reason,
                     message: "the enclave holds its limit of \(limit) open sessions; retry once other connections close",
                     metadata: ["limit": String(limit)])
        case .evidenceQuotaExceeded(let limit):
            RPCError(.resourceExhausted, reason: reason,
                     message: "this connection already holds \(limit) issued evidence not yet used to open a session, its "
                         + "quota; open a session with one of them, or reconnect",
                     metadata: ["limit": String(limit)])
        case .evidenceTableFull(let limit):
            RPCError(.resourceExhausted, reason: reason,
                     message: "the enclave holds its limit of \(limit) issued, unused evidence; retry once other "
                         + "connections close",
                     metadata: ["limit": String(limit)])
        }
    }
}
