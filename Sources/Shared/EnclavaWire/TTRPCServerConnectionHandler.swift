import Foundation
import Logging
import NIOCore
import SwiftProtobuf

/// One server connection: frames in, service calls out, responses back on the same stream id.
final class TTRPCServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoderEvent
    typealias OutboundOut = Frame

    /// Concurrent calls allowed on one connection before new ones get `RESOURCE_EXHAUSTED`.
    static let maxConcurrentCalls = 1024

    private let service: any TTRPCServiceHandler
    private let maxFrameBytes: Int
    private let maxInFlightBytes: Int
    private let connection = TTRPCConnectionID.next()
    private var logger: Logger
    private var context: ChannelHandlerContext?
    /// The calls received and not yet answered: stream id → request payload bytes held for it.
    private var inFlight: [UInt32: Int] = [:]
    /// The sum of ``inFlight``'s values.
    private var inFlightBytes = 0
    /// Requests in arrival order, admitted one at a time by `admissions` (see ``TTRPCServiceHandler``).
    private var pending: AsyncStream<Call>.Continuation?
    private var admissions: Task<Void, Never>?

    /// One received request waiting to be admitted.
    private struct Call: Sendable {
        var streamID: UInt32
        var method: String
        var service: String
        var payload: [UInt8]
    }

    /// - Parameters:
    ///   - maxInFlightBytes: request payload bytes this connection may have in flight; a request that would
    ///     go over is answered `RESOURCE_EXHAUSTED`. Never below one full frame.
    init(service: any TTRPCServiceHandler, maxFrameBytes: Int, maxInFlightBytes: Int, logger: Logger) {
        self.service = service
        self.maxFrameBytes = maxFrameBytes
        self.maxInFlightBytes = max(maxInFlightBytes, maxFrameBytes)
        self.logger = logger
        self.logger[metadataKey: "connection"] = "\(self.connection.rawValue)"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let remote = context.channel.remoteAddress
        self.logger[metadataKey: "peer"] = "\(remote.map { "\($0)" } ?? "unix")"
        let peer = remote.flatMap { address in address.ipAddress.map { "\($0):\(address.port ?? 0)" } } ?? "unix"
        self.service.connectionOpened(self.connection, peer: peer)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stopCalls()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stopCalls()
        context.fireChannelInactive()
    }

    /// Drops the queued requests and cancels the calls in flight.
    private func stopCalls() {
        self.pending?.finish()
        self.pending = nil
        self.admissions?.cancel()
        self.admissions = nil
        self.inFlight.removeAll()
        self.inFlightBytes = 0
    }

    /// Starts the task that admits this connection's calls in arrival order and runs each admitted
    /// call concurrently with the later ones (all of them children of that task, so closing cancels them).
    /// Once the connection has closed and every admitted call has finished, the service hears
    /// ``TTRPCServiceHandler/connectionClosed(_:)`` (so nothing it binds to the connection outlives it).
    private func startAdmissions(context: ChannelHandlerContext) -> AsyncStream<Call>.Continuation {
        let (stream, continuation) = AsyncStream.makeStream(of: Call.self)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let service = self.service
        let connection = self.connection
        self.admissions = Task {
            await withDiscardingTaskGroup { group in
                for await call in stream {
                    let run = await service.admit(method: call.method, service: call.service, payload: call.payload,
                                                  connection: connection)
                    group.addTask {
                        let result = await run()
                        eventLoop.execute { loopBound.value.finish(call.streamID, result) }
                    }
                }
            }
            await service.connectionClosed(connection)
        }
        self.pending = continuation
        return continuation
    }

    /// Back-pressure: a peer that does not read its answers is not read from until it does. The in-flight
    /// limits count a request only until it is answered, so without this a client that sends small requests
    /// for large answers (GetEvidence) and never reads would grow this process's memory without bound.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.warning("closing ttrpc connection: \(error)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .oversized(let streamID, let type, let length):
            self.logger.notice("discarded an oversized frame",
                               metadata: ["stream": "\(streamID)", "length": "\(length)", "limit": "\(self.maxFrameBytes)"])
            if type == FrameType.request.rawValue {
                self.reply(streamID, .failure(.frameTooLarge(length: Int(length), limit: self.maxFrameBytes)))
            }
        case .frame(let frame):
            guard frame.type == .request else {
                self.logger.debug("ignoring a \(frame.type) frame", metadata: ["stream": "\(frame.streamID)"])
                return
            }
            self.receive(frame)
        }
    }

    private func receive(_ frame: Frame) {
        let streamID = frame.streamID
        let request: Ttrpc_Request
        do {
            request = try frame.decodeRequest()
        } catch {
            self.reply(streamID, .failure(RPCError(.invalidArgument, reason: "MALFORMED_REQUEST",
                                                   message: "the request frame does not hold a ttrpc.Request: \(error)")))
            return
        }
        guard streamID % 2 == 1 else {
            self.reply(streamID, .failure(RPCError(.invalidArgument, reason: "INVALID_STREAM_ID",
                                                   message: "client stream ids must be odd, got \(streamID)")))
            return
        }
        guard self.inFlight[streamID] == nil else {
            self.reply(streamID, .failure(RPCError(.invalidArgument, reason: "DUPLICATE_STREAM_ID",
                                                   message: "stream \(streamID) already has a call in flight")))
            return
        }
        guard self.service.supports(service: request.service, method: request.method) else {
            self.reply(streamID, .failure(RPCError(.unimplemented, reason: "UNKNOWN_METHOD",
                                                   message: "\(request.service)/\(request.method) is not served here")))
            return
        }
        guard self.inFlight.count < Self.maxConcurrentCalls else {
            self.reply(streamID, .failure(RPCError(.resourceExhausted, reason: "TOO_MANY_CALLS",
                                                   message: "more than \(Self.maxConcurrentCalls) concurrent calls on one connection; wait for answers")))
            return
        }
        let bytes = request.payload.count
        guard self.inFlightBytes + bytes <= self.maxInFlightBytes else {
            self.reply(streamID, .failure(RPCError(.resourceExhausted, reason: "INFLIGHT_BYTES_EXCEEDED",
                                                   message: "this connection already has \(self.inFlightBytes) request bytes in flight; "
                                                       + "a \(bytes)-byte request would exceed its \(self.maxInFlightBytes)-byte budget; "
                                                       + "wait for answers before sending more",
                                                   metadata: ["in_flight_bytes": String(self.inFlightBytes),
                                                              "limit": String(self.maxInFlightBytes)])))
            return
        }
        guard let context = self.context, context.channel.isActive else { return }
        let pending = self.pending ?? self.startAdmissions(context: context)
        self.inFlight[streamID] = bytes
        self.inFlightBytes += bytes
        pending.yield(Call(streamID: streamID, method: request.method, service: request.service,
                           payload: [UInt8](request.payload)))
    }

    private func finish(_ streamID: UInt32, _ result: Result<[UInt8], RPCError>) {
        guard let bytes = self.inFlight.removeValue(forKey: streamID) else { return }  // connection closed meanwhile
        self.inFlightBytes -= bytes
        self.reply(streamID, result)
    }

    private func reply(_ streamID: UInt32, _ result: Result<[UInt8], RPCError>) {
        guard let context = self.context, context.channel.isActive else { return }
        let frame: Frame
        switch result {
        case .success(let payload):
            var response = Ttrpc_Response()
            response.status = Google_Rpc_Status()
            response.payload = Data(payload)
            let encoded = try? Frame.response(streamID: streamID, response, allocator: context.channel.allocator)
            if let encoded, encoded.payload.readableBytes <= self.maxFrameBytes {
                frame = encoded
            } else {
                frame = .errorResponse(streamID: streamID, RPCError(
                    .resourceExhausted, reason: "RESPONSE_TOO_LARGE",
                    message: "the \(payload.count)-byte response exceeds the \(self.maxFrameBytes)-byte frame limit"),
                    allocator: context.channel.allocator)
            }
        case .failure(let error):
            frame = .errorResponse(streamID: streamID, error, allocator: context.channel.allocator)
        }
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
    }
}
