import NIOCore

/// Writes ``Frame`` values as ttrpc wire bytes (DESIGN.md §2).
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Frame

    /// The largest payload this encoder writes; `nil` for no limit beyond the 32-bit length field.
    public let maxFrameBytes: Int?

    /// Creates an encoder.
    ///
    /// - Parameter maxFrameBytes: refuse to write larger payloads (`nil`: only the wire format's limit).
    public init(maxFrameBytes: Int? = nil) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Encodes one frame.
    ///
    /// - Throws: ``WireError`` `frameTooLarge` if the payload exceeds the limit.
    public func encode(data: Frame, out: inout ByteBuffer) throws {
        if let limit = self.maxFrameBytes, data.payload.readableBytes > limit {
            throw WireError(.frameTooLarge,
                            "refusing to send a \(data.payload.readableBytes)-byte frame on stream \(data.streamID); "
                                + "the limit is \(limit) bytes")
        }
        out.reserveCapacity(minimumWritableBytes: data.wireByteCount)
        try data.write(into: &out)
    }
}
