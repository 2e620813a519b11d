/// Why the host bridge could not start or had to stop.
public struct HostBridgeError: Error, CustomStringConvertible, Sendable {
    /// The stable category of a ``HostBridgeError``.
    public enum Code: String, Sendable {
        /// A configuration value is out of range.
        case invalidConfiguration
        /// The enclave process could not be started (missing or non-executable file, no temp dir).
        case launchFailed
        /// The enclave process exited before it was ready.
        case enclaveExited
        /// The enclave reported `STATE_FAILED`.
        case enclaveFailed
        /// The enclave did not answer `Health` with `STATE_READY` in time.
        case readyTimeout
        /// The listening address could not be bound.
        case bindFailed
        /// The enclave kept dying; the restart limit was reached.
        case restartLimitReached
        /// ``HostBridgeServer/start()`` was called twice, or after shutdown.
        case invalidState
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

    public var description: String {
        guard !self.enclaveStderr.isEmpty else { return "\(self.code.rawValue): \(self.message)" }
        return "\(self.code.rawValue): \(self.message)\nlast enclave stderr lines:\n"
            + self.enclaveStderr.map { "  | \($0)" }.joined(separator: "\n")
    }
}
