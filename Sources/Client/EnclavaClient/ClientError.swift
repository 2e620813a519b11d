import EnclavaAttestation
import EnclavaWire

/// A failure of a ``ConfidentialSession``: a stable ``code``, the underlying attestation or remote error
/// where there is one, and a sentence that says what to do.
///
/// Each attack the session defends against fails with its own code: a wrong measurement, a wrong manifest
/// digest or a substituted HPKE key are ``Code/attestationFailed`` with distinct ``attestationError`` codes;
/// a tampered request, a replay or a reorder are ``Code/remote`` with distinct ``remoteReason``s
/// (`REQUEST_DECRYPTION_FAILED`, `SEQUENCE_OUT_OF_ORDER`, `SESSION_POISONED`); a tampered response is
/// ``Code/responseDecryptionFailed``.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    /// Stable codes.
    public enum Code: String, Sendable, Equatable {
        /// The enclave's evidence did not verify or did not satisfy the policy (see ``attestationError``).
        case attestationFailed
        /// The GetEvidence answer is malformed (wrong sizes, unknown format).
        case invalidEvidenceResponse
        /// A response did not decrypt: tampered, or not for this session and sequence. The session is closed.
        case responseDecryptionFailed
        /// A response carries another sequence number than the request. The session is closed.
        case responseSequenceMismatch
        /// The session failed earlier (a decryption failure on either side) and cannot be used again.
        case sessionUnusable
        /// The model refused the request (see ``reason``: e.g. `INVALID_TENSOR` naming the input).
        case modelRejected
        /// The enclave or the transport answered with an error (see ``rpcError`` and ``remoteReason``).
        case remote
        /// Input the client was given is invalid (e.g. a tensor JSON).
        case invalidInput
        /// The enclave does not serve the model the caller named (the message names the one it serves).
        case unknownModel
        /// The policy text given to the client is not a policy (see ``ConfidentialSession/policy(json:)``).
        case invalidPolicy
    }

    /// The stable code.
    public let code: Code
    /// A sentence: what failed and what to do.
    public let message: String
    /// For ``Code/attestationFailed``: the verifier's error, with its own code.
    public let attestationError: AttestationError?
    /// For ``Code/remote``: the enclave's error.
    public let rpcError: RPCError?
    /// For ``Code/modelRejected``: the enclave's stable reason; for ``Code/remote``: the RPC reason.
    public let reason: String?
    /// Where it was raised (for us).
    public let file: String
    /// The line where it was raised.
    public let line: Int

    init(_ code: Code, _ message: String, attestationError: AttestationError? = nil, rpcError: RPCError? = nil,
         reason: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.attestationError = attestationError
        self.rpcError = rpcError
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// The enclave's stable reason for a ``Code/remote`` error (e.g. `SEQUENCE_OUT_OF_ORDER`).
    public var remoteReason: String? { rpcError?.reason }

    /// Evidence that did not verify.
    public static func attestationFailed(_ error: AttestationError, file: String = #fileID, line: Int = #line) -> ClientError {
        ClientError(.attestationFailed, "the enclave's evidence was refused: \(error.message)",
                    attestationError: error, reason: error.code.rawValue, file: file, line: line)
    }

    /// An error answer from the enclave or the transport.
    public static func remote(_ error: RPCError, file: String = #fileID, line: Int = #line) -> ClientError {
        ClientError(.remote, error.description, rpcError: error, reason: error.reason, file: file, line: line)
    }

    /// A request the model refused.
    public static func modelRejected(reason: String, message: String, file: String = #fileID, line: Int = #line) -> ClientError {
        ClientError(.modelRejected, "the model refused the request (\(reason)): \(message)", reason: reason,
                    file: file, line: line)
    }

    public var description: String { message }
}
