/// Why the host bridge could not start or had to stop.
public struct HostBridgeError: Error, CustomStringConvertible, Sendable {
    /// The stable category of a ``HostBridgeError``.
    public enum Code: String, Sendable {
        /// A configuration value is out of range.
        case invalidConfiguration = "INVALID_CONFIGURATION"
        /// The enclave process could not be started (missing or non-executable file, no temp dir).
        case launchFailed = "LAUNCH_FAILED"
        /// The enclave process exited before it was ready.
        case enclaveExited = "ENCLAVE_EXITED"
        /// The enclave reported `STATE_FAILED`.
        case enclaveFailed = "ENCLAVE_FAILED"
        /// The enclave did not answer `Health` with `STATE_READY` in time.
        case readyTimeout = "READY_TIMEOUT"
        /// The listening address could not be bound.
        case bindFailed = "BIND_FAILED"
        /// The enclave kept dying; the restart limit was reached.
        case restartLimitReached = "RESTART_LIMIT_REACHED"
        /// ``HostBridgeServer/start()`` was called twice, or after shutdown.
        case invalidState = "INVALID_STATE"
    }

    /// The stable category.
    public let code: Code
    /// What happened and what to do next.
    public let message: String
    /// The enclave's last lines on stderr, when they explain the problem.
    public let enclaveStderr: [String]
    /// Where the error was raised (for us).
    public let file: String
    /// The line where the error was raised.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, enclaveStderr: [String] = [], file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.enclaveStderr = enclaveStderr
        self.file = file
        self.line = line
    }

    /// One line, `CODE: message`; when the enclave said why it stopped (its `enclava-runtime: …` line), that
    /// reason is the message, first. The enclave's other stderr lines are in ``detailedDescription`` (and in the
    /// bridge's log, one `enclave:` line each).
    public var description: String { "\(self.code.rawValue): \(self.message)" }

    /// ``description`` and the enclave's last stderr lines, for logs.
    public var detailedDescription: String {
        guard !self.enclaveStderr.isEmpty else { return self.description }
        return self.description + "\nlast enclave stderr lines:\n" + self.enclaveStderr.map { "  | \($0)" }.joined(separator: "\n")
    }

    /// The enclave's own one-line reason among its stderr lines: the last `enclava-runtime: …` line (what the
    /// runtime prints when it cannot start), without the prefix.
    public static func enclaveReason(in lines: [String]) -> String? {
        let prefix = "enclava-runtime: "
        return lines.last { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}
