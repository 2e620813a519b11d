/// A framing error: the peer sent bytes that are not ttrpc frames. The connection is closed.
public struct WireError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable category of a ``WireError``.
    public enum Code: String, Sendable, Equatable {
        /// A header with an unknown frame type or unknown flag bits: the stream is not ttrpc.
        case malformedFrame
        /// The stream ended inside a frame.
        case truncatedFrame
        /// A frame to send is larger than the wire format or the configured limit allows.
        case frameTooLarge
        /// The connection is closed or could not be opened.
        case connectionFailed
        /// An endpoint string could not be parsed.
        case invalidEndpoint
    }

    /// The stable category.
    public let code: Code
    /// What happened and what to do next.
    public let message: String
    /// The source file that raised the error (for us, not for users).
    public let file: String
    /// The source line that raised the error.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { "\(self.code.rawValue): \(self.message)" }

    public static func == (lhs: WireError, rhs: WireError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
