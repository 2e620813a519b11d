import NIOCore
import SwiftProtobuf

extension Frame {
    /// A request frame carrying a serialized `ttrpc.Request`.
    ///
    /// - Throws: a SwiftProtobuf encoding error (does not happen for well-formed messages).
    public static func request(streamID: UInt32, _ request: Ttrpc_Request,
                               allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> Frame {
        let bytes: [UInt8] = try request.serializedBytes()
        return Frame(streamID: streamID, type: .request, flags: [], payload: allocator.buffer(bytes: bytes))
    }

    /// A response frame carrying a serialized `ttrpc.Response`.
    ///
    /// - Throws: a SwiftProtobuf encoding error (does not happen for well-formed messages).
    public static func response(streamID: UInt32, _ response: Ttrpc_Response,
                                allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> Frame {
        let bytes: [UInt8] = try response.serializedBytes()
        return Frame(streamID: streamID, type: .response, flags: [], payload: allocator.buffer(bytes: bytes))
    }

    /// A response frame that answers `streamID` with `error` (no payload).
    public static func errorResponse(streamID: UInt32, _ error: RPCError,
                                     allocator: ByteBufferAllocator = ByteBufferAllocator()) -> Frame {
        var response = Ttrpc_Response()
        response.status = error.status
        // Serializing a status with a string and an Any never fails; fall back to an empty payload anyway.
        let bytes: [UInt8] = (try? response.serializedBytes()) ?? []
        return Frame(streamID: streamID, type: .response, flags: [], payload: allocator.buffer(bytes: bytes))
    }

    /// Parses the payload as a `ttrpc.Request`.
    ///
    /// - Throws: a SwiftProtobuf decoding error if the payload is not a valid message.
    public func decodeRequest() throws -> Ttrpc_Request {
        try Ttrpc_Request(serializedBytes: Array(self.payload.readableBytesView))
    }

    /// Parses the payload as a `ttrpc.Response`.
    ///
    /// - Throws: a SwiftProtobuf decoding error if the payload is not a valid message.
    public func decodeResponse() throws -> Ttrpc_Response {
        try Ttrpc_Response(serializedBytes: Array(self.payload.readableBytesView))
    }
}
