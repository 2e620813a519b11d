import NIOCore

/// The kind of a ttrpc frame (byte 8 of the header).
public enum FrameType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// A `ttrpc.Request`, sent by the client.
    case request = 1
    /// A `ttrpc.Response`, sent by the server on the request's stream id.
    case response = 2
    /// A stream data frame (streaming RPCs; Enclava's service is unary and does not send these).
    case data = 3

    /// A short lowercase name, for logs.
    public var description: String {
        switch self {
        case .request: return "request"
        case .response: return "response"
        case .data: return "data"
        }
    }
}

/// The flags of a ttrpc frame (byte 9 of the header).
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8

    /// Creates flags from the raw header byte.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The sender closed its side of the stream.
    public static let remoteClosed = FrameFlags(rawValue: 0x01)
    /// The sender keeps its side of the stream open (streaming requests).
    public static let remoteOpen = FrameFlags(rawValue: 0x02)
    /// The frame carries no data.
    public static let noData = FrameFlags(rawValue: 0x04)

    /// Every flag bit the protocol defines; a frame with any other bit set is malformed.
    public static let all: FrameFlags = [.remoteClosed, .remoteOpen, .noData]
}

/// One ttrpc frame: header fields and payload.
public struct Frame: Sendable {
    /// The stream the frame belongs to; client-initiated streams are odd.
    public var streamID: UInt32
    /// What the payload is.
    public var type: FrameType
    /// Header flags.
    public var flags: FrameFlags
    /// The payload bytes (a serialized `ttrpc.Request` or `ttrpc.Response` for unary calls).
    public var payload: ByteBuffer

    /// Creates a frame.
    public init(streamID: UInt32, type: FrameType, flags: FrameFlags = [], payload: ByteBuffer) {
        self.streamID = streamID
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    /// The number of bytes this frame occupies on the wire.
    public var wireByteCount: Int { WireLimits.headerByteCount + self.payload.readableBytes }

    /// Writes the 10-byte header for this frame into `buffer`.
    ///
    /// - Throws: ``WireError`` `frameTooLarge` if the payload length does not fit in 32 bits.
    public func writeHeader(into buffer: inout ByteBuffer) throws {
        let length = self.payload.readableBytes
        guard length <= WireLimits.maxEncodableFrameBytes else {
            throw WireError(.frameTooLarge, "a \(length)-byte payload does not fit the 32-bit length field")
        }
        buffer.writeInteger(UInt32(length), endianness: .big)
        buffer.writeInteger(self.streamID, endianness: .big)
        buffer.writeInteger(self.type.rawValue)
        buffer.writeInteger(self.flags.rawValue)
    }

    /// Writes header and payload into `buffer`.
    ///
    /// - Throws: ``WireError`` `frameTooLarge` if the payload length does not fit in 32 bits.
    public func write(into buffer: inout ByteBuffer) throws {
        try self.writeHeader(into: &buffer)
        var payload = self.payload
        buffer.writeBuffer(&payload)
    }

    /// The frame's wire bytes in a fresh buffer.
    ///
    /// - Throws: ``WireError`` `frameTooLarge` if the payload length does not fit in 32 bits.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.wireByteCount)
        try self.write(into: &buffer)
        return buffer
    }
}
