import EnclavaClient
import EnclavaWire
import Foundation

/// A failure of the proxy, at start or for one HTTP request: a stable code, the HTTP status and OpenAI error
/// `type` it is answered with, and a sentence naming the problem and what to do.
public struct ProxyError: Error, CustomStringConvertible, Sendable {
    /// Stable codes (also the OpenAI error `code` of the answer).
    public enum Code: String, Sendable {
        /// A configuration value is out of range.
        case invalidConfiguration = "invalid_configuration"
        /// `--listen` is not a loopback address and `--allow-remote` was not given.
        case remoteListenRefused = "remote_listen_refused"
        /// The enclave's evidence did not satisfy the policy (at start, or on a reconnect).
        case attestationFailed = "attestation_failed"
        /// The request body is not the JSON this endpoint takes.
        case invalidRequest = "invalid_request"
        /// The request body is larger than `--max-body-bytes`.
        case bodyTooLarge = "body_too_large"
        /// The `model` is not one the policy pins.
        case modelNotFound = "model_not_found"
        /// The enclave's model refused the input (its reason is in the message).
        case modelRejected = "model_rejected"
        /// `--max-concurrent` requests are in flight, or the enclave's queue is full.
        case tooManyRequests = "too_many_requests"
        /// The enclave or the bridge cannot be reached; retry shortly.
        case enclaveUnavailable = "enclave_unavailable"
        /// The enclave or the bridge answered with another error.
        case enclaveError = "enclave_error"
        /// No such route.
        case notFound = "not_found"
        /// The proxy could not listen.
        case bindFailed = "bind_failed"
    }

    /// The stable code.
    public let code: Code
    /// What happened and what to do.
    public let message: String
    /// Where the error was raised (for us).
    public let file: String
    /// The line where the error was raised.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// The HTTP status this error is answered with.
    public var httpStatus: Int {
        switch code {
        case .invalidRequest, .modelRejected, .invalidConfiguration: 400
        case .notFound, .modelNotFound: 404
        case .bodyTooLarge: 413
        case .tooManyRequests: 429
        case .attestationFailed, .enclaveError: 502
        case .enclaveUnavailable, .remoteListenRefused, .bindFailed: 503
        }
    }

    /// OpenAI's error `type` for this error.
    public var openAIType: String {
        switch code {
        case .invalidRequest, .modelRejected, .modelNotFound, .bodyTooLarge, .notFound, .invalidConfiguration:
            "invalid_request_error"
        case .tooManyRequests: "rate_limit_error"
        default: "server_error"
        }
    }

    /// The body of the answer, OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
    public var openAIBody: [UInt8] {
        let object: [String: Any] = ["error": ["message": message, "type": openAIType, "param": NSNull(), "code": code.rawValue]]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// A session failure in the proxy's terms.
    public static func from(_ error: any Error) -> ProxyError {
        if let error = error as? ProxyError { return error }
        guard let error = error as? ClientError else { return ProxyError(.enclaveError, "\(error)") }
        switch error.code {
        case .attestationFailed, .invalidEvidenceResponse:
            let code = error.attestationError.map { " (\($0.code.rawValue))" } ?? ""
            return ProxyError(.attestationFailed, "the enclave is not the one the policy accepts\(code): \(error.message)")
        case .modelRejected:
            return ProxyError(.modelRejected, "the enclave refused the input: \(error.message)")
        case .invalidInput:
            return ProxyError(.invalidRequest, error.message)
        case .remote:
            switch error.rpcError?.code {
            case .unavailable?, .deadlineExceeded?:
                return ProxyError(.enclaveUnavailable, "the enclave cannot be reached: \(error.message); retry shortly")
            case .resourceExhausted?:
                return ProxyError(.tooManyRequests, "the enclave is busy: \(error.message); retry shortly")
            case .invalidArgument?, .failedPrecondition?, .outOfRange?:
                return ProxyError(.modelRejected, "the enclave refused the input: \(error.message)")
            default:
                return ProxyError(.enclaveError, error.message)
            }
        case .unknownModel:
            return ProxyError(.modelNotFound, error.message)
        case .invalidPolicy:
            return ProxyError(.invalidConfiguration, error.message)
        case .responseDecryptionFailed, .responseSequenceMismatch, .sessionUnusable:
            return ProxyError(.enclaveError, "the session with the enclave failed (\(error.message)); the next request opens a new one")
        }
    }
}
