/// A problem with the simulated platform files under `$ENCLAVA_HOME/sim`.
public struct SimulatedPlatformError: Error, CustomStringConvertible, Sendable {
    /// Stable error codes.
    public enum Code: String, Sendable {
        /// There is no simulated platform yet.
        case notInitialized = "SIM_NOT_INITIALIZED"
        /// A simulated platform exists and `force` was not given.
        case alreadyInitialized = "SIM_ALREADY_INITIALIZED"
        /// A file is unreadable, malformed or inconsistent with the others.
        case corrupt = "SIM_CORRUPT"
        /// A secret file or the folder can be read or written by other users.
        case insecurePermissions = "SIM_INSECURE_PERMISSIONS"
        /// Creating the files failed.
        case writeFailed = "SIM_WRITE_FAILED"
        /// A caller passed a bad argument (e.g. a measurement of the wrong size).
        case invalidArgument = "SIM_INVALID_ARGUMENT"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what to do.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
