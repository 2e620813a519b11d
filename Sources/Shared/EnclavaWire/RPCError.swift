import SwiftProtobuf

/// A non-OK RPC outcome: a canonical code, a stable machine-readable reason and a human sentence.
///
/// On the wire it is a `google.rpc.Status` whose `details` hold one `enclava.v1.ErrorInfo`
/// (type URL ``RPCError/errorInfoTypeURL``) carrying `reason` and `message`.
public struct RPCError: Error, CustomStringConvertible, Sendable {
    /// The type URL of the packed `enclava.v1.ErrorInfo`.
    public static let errorInfoTypeURL = "type.googleapis.com/enclava.v1.ErrorInfo"

    /// The canonical status code.
    public var code: RPCCode
    /// A stable identifier for the cause, e.g. `SEQUENCE_OUT_OF_ORDER`; empty if the peer sent none.
    public var reason: String
    /// What happened and what to do next.
    public var message: String
    /// Extra key/value context from `ErrorInfo.metadata` (never secrets).
    public var metadata: [String: String]
    /// Where the error was raised (for us; not sent on the wire).
    public var file: String
    /// The line where the error was raised.
    public var line: Int

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: the canonical status code (not ``RPCCode/ok``).
    ///   - reason: a stable upper-snake-case identifier.
    ///   - message: a sentence naming the problem and the fix.
    ///   - metadata: optional non-secret context.
    public init(_ code: RPCCode, reason: String, message: String, metadata: [String: String] = [:],
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata
        self.file = file
        self.line = line
    }

    /// Reconstructs an error from a received status, unpacking the first `enclava.v1.ErrorInfo` detail.
    public init(status: Google_Rpc_Status, file: String = #fileID, line: Int = #line) {
        self.code = RPCCode(statusCode: status.code)
        self.message = status.message
        self.reason = ""
        self.metadata = [:]
        self.file = file
        self.line = line
        for detail in status.details where detail.typeURL == Self.errorInfoTypeURL {
            if let info = try? Enclava_V1_ErrorInfo(unpackingAny: detail) {
                self.reason = info.reason
                self.metadata = info.metadata
                if self.message.isEmpty { self.message = info.message }
                break
            }
        }
    }

    /// The `google.rpc.Status` for this error, with an `enclava.v1.ErrorInfo` packed in `details`.
    public var status: Google_Rpc_Status {
        var status = Google_Rpc_Status()
        status.code = self.code.rawValue
        status.message = self.message
        var info = Enclava_V1_ErrorInfo()
        info.reason = self.reason
        info.message = self.message
        info.metadata = self.metadata
        if let any = try? Google_Protobuf_Any(message: info) {
            status.details = [any]
        }
        return status
    }

    public var description: String {
        self.reason.isEmpty ? "\(self.code.name): \(self.message)" : "\(self.code.name) (\(self.reason)): \(self.message)"
    }
}

extension RPCError {
    /// The peer is gone or the connection failed; the call may be retried on a new connection.
    public static func unavailable(_ reason: String, _ message: String, file: String = #fileID, line: Int = #line) -> RPCError {
        RPCError(.unavailable, reason: reason, message: message, file: file, line: line)
    }

    /// A frame was larger than the receiver's limit.
    public static func frameTooLarge(length: Int, limit: Int, file: String = #fileID, line: Int = #line) -> RPCError {
        RPCError(.resourceExhausted, reason: "FRAME_TOO_LARGE",
                 message: "the \(length)-byte frame exceeds the \(limit)-byte limit; send smaller requests "
                     + "or raise max_frame_bytes on both sides",
                 metadata: ["length": String(length), "limit": String(limit)], file: file, line: line)
    }
}
