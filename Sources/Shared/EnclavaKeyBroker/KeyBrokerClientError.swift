import EnclavaWire

/// Why an enclave did not get its model key from the broker: a stable code and a sentence saying what to do.
public struct KeyBrokerClientError: Error, CustomStringConvertible, Sendable {
    /// Stable codes.
    public enum Code: String, Sendable, CaseIterable {
        /// The broker (or the bridge's forwarding socket) could not be reached, or the connection broke.
        case unreachable = "KEY_BROKER_UNREACHABLE"
        /// The broker refused the release (its audit log says why; the enclave is never told).
        case refused = "KEY_RELEASE_REFUSED"
        /// The broker answered something that is not a valid challenge or release.
        case malformedAnswer = "KEY_BROKER_MALFORMED_ANSWER"
        /// The platform could not produce evidence for the challenge.
        case evidenceFailed = "KEY_BROKER_EVIDENCE_FAILED"
        /// The released key does not open with this enclave's fresh key for this evidence and image (a replayed,
        /// altered or misdirected answer).
        case openFailed = "KEY_RELEASE_UNOPENABLE"
        /// The broker answered with another error (timeout, limits).
        case remote = "KEY_BROKER_ERROR"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what to do.
    public let message: String
    /// The broker's error, when it sent one.
    public let remote: RPCError?
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    init(_ code: Code, _ message: String, remote: RPCError? = nil, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.remote = remote
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// The client error for a failed call.
    static func from(_ error: RPCError, during step: String) -> KeyBrokerClientError {
        if error.code == .permissionDenied, error.reason == KeyBrokerProtocol.refusalReason {
            return KeyBrokerClientError(.refused, "the key broker refused to release the model key (\(step)); ask its "
                                            + "operator to read `enclava keybroker log`", remote: error)
        }
        if error.code == .unavailable {
            return KeyBrokerClientError(.unreachable, "the key broker connection failed during \(step): \(error.message); "
                                            + "check `enclava serve --key-broker` and that the broker runs", remote: error)
        }
        return KeyBrokerClientError(.remote, "the key broker answered \(error.code.name) during \(step): \(error.message)",
                                    remote: error)
    }
}
