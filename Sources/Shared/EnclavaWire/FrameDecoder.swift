import NIOCore

/// What ``FrameDecoder`` produces.
public enum FrameDecoderEvent: Sendable {
    /// A complete frame within the size limit.
    case frame(Frame)
    /// A frame whose declared payload length exceeded the limit. Its payload was skipped as it
    /// streamed in (never buffered); the receiver answers `RESOURCE_EXHAUSTED` on `streamID`.
    /// Emitted once the whole payload has been discarded, so the next frame starts cleanly.
    case oversized(streamID: UInt32, type: UInt8, length: UInt32)
}

/// Splits a byte stream into ttrpc frames (DESIGN.md §2).
///
/// * A header with an unknown type or unknown flag bits throws ``WireError`` `malformedFrame`:
///   the stream is not ttrpc and the connection should be closed.
/// * A frame longer than `maxFrameBytes` is discarded as its bytes arrive — the payload is never
///   accumulated — and reported as ``FrameDecoderEvent/oversized(streamID:type:length:)``.
/// * End of stream inside a frame throws ``WireError`` `truncatedFrame`.
///
/// Use it with `ByteToMessageHandler(FrameDecoder(maxFrameBytes:))`, or drive it directly with
/// `NIOSingleStepByteToMessageProcessor`.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = FrameDecoderEvent

    private struct Discard {
        var streamID: UInt32
        var type: UInt8
        var length: UInt32
        var remaining: Int
    }

    /// The largest payload accepted; larger frames are discarded.
    public let maxFrameBytes: Int
    private var discarding: Discard?

    /// Creates a decoder.
    ///
    /// - Parameter maxFrameBytes: the largest payload accepted (default 4 MiB).
    public init(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes) {
        precondition(maxFrameBytes >= 0, "maxFrameBytes must not be negative")
        self.maxFrameBytes = maxFrameBytes
    }

    /// `true` while the decoder is skipping the payload of an oversized frame.
    public var isDiscarding: Bool { self.discarding != nil }

    public mutating func decode(buffer: inout ByteBuffer) throws -> FrameDecoderEvent? {
        if var discard = self.discarding {
            let skip = min(buffer.readableBytes, discard.remaining)
            buffer.moveReaderIndex(forwardBy: skip)
            discard.remaining -= skip
            guard discard.remaining == 0 else {
                self.discarding = discard
                return nil
            }
            self.discarding = nil
            return .oversized(streamID: discard.streamID, type: discard.type, length: discard.length)
        }

        guard let header = try Self.peekHeader(buffer) else { return nil }
        if Int(header.length) > self.maxFrameBytes {
            buffer.moveReaderIndex(forwardBy: WireLimits.headerByteCount)
            self.discarding = Discard(streamID: header.streamID, type: header.type.rawValue,
                                      length: header.length, remaining: Int(header.length))
            return try self.decode(buffer: &buffer)
        }
        let total = WireLimits.headerByteCount + Int(header.length)
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: WireLimits.headerByteCount)
        let payload = buffer.readSlice(length: Int(header.length))!
        return .frame(Frame(streamID: header.streamID, type: header.type, flags: header.flags, payload: payload))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> FrameDecoderEvent? {
        if let event = try self.decode(buffer: &buffer) { return event }
        if seenEOF, buffer.readableBytes > 0 || self.discarding != nil {
            let pending = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: pending)
            self.discarding = nil
            throw WireError(.truncatedFrame,
                            "the peer closed the connection inside a frame (\(pending) byte(s) of an incomplete frame)")
        }
        return nil
    }

    /// The parsed header fields of a frame.
    public struct Header: Sendable, Equatable {
        /// Declared payload length.
        public var length: UInt32
        /// Stream id.
        public var streamID: UInt32
        /// Frame type.
        public var type: FrameType
        /// Flags.
        public var flags: FrameFlags
    }

    /// Parses the header at the reader index of `buffer` without consuming it.
    ///
    /// - Returns: `nil` if fewer than ``WireLimits/headerByteCount`` bytes are readable.
    /// - Throws: ``WireError`` `malformedFrame` for an unknown type or unknown flag bits.
    public static func peekHeader(_ buffer: ByteBuffer) throws -> Header? {
        guard buffer.readableBytes >= WireLimits.headerByteCount else { return nil }
        let start = buffer.readerIndex
        let length = buffer.getInteger(at: start, endianness: .big, as: UInt32.self)!
        let streamID = buffer.getInteger(at: start + 4, endianness: .big, as: UInt32.self)!
        let rawType = buffer.getInteger(at: start + 8, as: UInt8.self)!
        let rawFlags = buffer.getInteger(at: start + 9, as: UInt8.self)!
        guard let type = FrameType(rawValue: rawType) else {
            throw WireError(.malformedFrame,
                            "unknown frame type 0x\(String(rawType, radix: 16)) on stream \(streamID) "
                                + "(expected 0x01 request, 0x02 response or 0x03 data); the peer is not speaking ttrpc")
        }
        let flags = FrameFlags(rawValue: rawFlags)
        guard FrameFlags.all.isSuperset(of: flags) else {
            throw WireError(.malformedFrame,
                            "unknown flag bits 0x\(String(rawFlags, radix: 16)) on stream \(streamID) "
                                + "(defined: 0x01 remote closed, 0x02 remote open, 0x04 no data)")
        }
        return Header(length: length, streamID: streamID, type: type, flags: flags)
    }
}
