import EnclavaWire

/// Why ``SessionStateMachine`` refused an OpenSession or Infer call.
public enum SessionRejection: Error, Equatable, Sendable {
    /// The evidence digest is not one this enclave issued.
    case unknownEvidence
    /// `enc` is not a valid 32-byte X25519 public key.
    case invalidEncapsulatedKey
    /// No such session (never opened, or evicted).
    case sessionNotFound
    /// The session failed to decrypt an earlier request and is closed for good.
    case sessionPoisoned
    /// The sequence number is not the next one expected.
    case sequenceOutOfOrder(expected: UInt64, received: UInt64)
    /// The request ciphertext did not authenticate; the session is now poisoned.
    case requestDecryptionFailed

    /// The stable ``RuntimeReason`` of this rejection.
    public var reason: String {
        switch self {
        case .unknownEvidence: RuntimeReason.unknownEvidence
        case .invalidEncapsulatedKey: RuntimeReason.invalidEncapsulatedKey
        case .sessionNotFound: RuntimeReason.sessionNotFound
        case .sessionPoisoned: RuntimeReason.sessionPoisoned
        case .sequenceOutOfOrder: RuntimeReason.sequenceOutOfOrder
        case .requestDecryptionFailed: RuntimeReason.requestDecryptionFailed
        }
    }

    /// The error the enclave answers with.
    public var rpcError: RPCError {
        switch self {
        case .unknownEvidence:
            RPCError(.failedPrecondition, reason: reason,
                     message: "the evidence digest is not one this enclave issued recently; call GetEvidence again")
        case .invalidEncapsulatedKey:
            RPCError(.invalidArgument, reason: reason,
                     message: "enc must be a 32-byte X25519 public key produced by HPKE SetupBaseS")
        case .sessionNotFound:
            RPCError(.notFound, reason: reason,
                     message: "no such session (never opened or evicted); attest and open a new session")
        case .sessionPoisoned:
            RPCError(.failedPrecondition, reason: reason,
                     message: "this session failed to decrypt a request and is closed; open a new session")
        case .sequenceOutOfOrder(let expected, let received):
            RPCError(.failedPrecondition, reason: reason,
                     message: "request sequence \(received) is out of order; the session expects \(expected)")
        case .requestDecryptionFailed:
            RPCError(.permissionDenied, reason: reason,
                     message: "the request did not decrypt (tampered or wrong key); the session is now closed")
        }
    }
}
