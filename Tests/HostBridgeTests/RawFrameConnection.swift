import EnclavaWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// One response frame read off a raw connection.
struct RawResponse: Sendable {
    let streamID: UInt32
    /// nil for an OK status.
    let error: RPCError?
    let payload: [UInt8]
}

/// A TCP connection that writes hand-made bytes and reads whole frames back (frames no ``TTRPCClient``
/// would send, or several in one write).
struct RawFrameConnection {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var pending = ByteBuffer()

    /// Connects to 127.0.0.1:`port`, runs `body`, then closes.
    static func with<Result: Sendable>(port: Int, _ body: (inout RawFrameConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = RawFrameConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await self.outbound.write(ByteBuffer(bytes: bytes))
    }

    /// The next response frame, or nil once the peer has closed.
    mutating func nextResponse() async throws -> RawResponse? {
        while true {
            if self.pending.readableBytes >= WireLimits.headerByteCount,
               let length = self.pending.getInteger(at: self.pending.readerIndex, as: UInt32.self),
               self.pending.readableBytes >= WireLimits.headerByteCount + Int(length) {
                let streamID = self.pending.getInteger(at: self.pending.readerIndex + 4, as: UInt32.self) ?? 0
                self.pending.moveReaderIndex(forwardBy: WireLimits.headerByteCount)
                let bytes = self.pending.readBytes(length: Int(length)) ?? []
                let response = try Ttrpc_Response(serializedBytes: bytes)
                let error = response.status.code == 0 ? nil : RPCError(status: response.status)
                return RawResponse(streamID: streamID, error: error, payload: [UInt8](response.payload))
            }
            guard var more = try await self.inbound.next() else { return nil }
            self.pending.writeBuffer(&more)
        }
    }
}

/// The bytes of one request frame calling `service`/`method` with `message`.
func requestFrame(streamID: UInt32, service: String = EnclaveService.name, method: String,
                  payload: [UInt8] = []) throws -> [UInt8] {
    var request = Ttrpc_Request()
    request.service = service
    request.method = method
    request.payload = Data(payload)
    let frame = try Frame.request(streamID: streamID, request)
    return Array(try frame.encoded(allocator: ByteBufferAllocator()).readableBytesView)
}

/// Log lines kept for assertions.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] { self.lock.withLock { self.lines } }

    func append(_ line: String) { self.lock.withLock { self.lines.append(line) } }

    /// A logger whose lines (notice and above) land here.
    var logger: Logger {
        Logger(label: "enclava.host-bridge.test") { _ in CapturingLogHandler(lines: self) }
    }
}

struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        self.lines.append("\(event.level): \(event.message)")
    }
}
