import NIOConcurrencyHelpers

/// Names one server connection for the life of the process. Ids are never reused, so state the service
/// binds to a connection (sessions, issued evidence) can never be inherited by a later connection.
public struct TTRPCConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// The number behind the id (1, 2, 3… in accept order; 0 is ``inProcess``).
    public let rawValue: UInt64

    /// Wraps a raw value (tests; servers take ids from ``next()``).
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The one "connection" of in-process callers that have no ttrpc connection (unit tests, embedding
    /// code). The servers never hand it out.
    public static let inProcess = TTRPCConnectionID(rawValue: 0)

    private static let counter = NIOLockedValueBox<UInt64>(0)

    /// A fresh id, never handed out before in this process.
    public static func next() -> TTRPCConnectionID {
        TTRPCConnectionID(rawValue: self.counter.withLockedValue { value in
            value += 1
            return value
        })
    }

    public var description: String { "connection \(self.rawValue)" }
}
