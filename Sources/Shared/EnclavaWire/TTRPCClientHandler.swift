import Logging
import NIOCore

/// The client side of one connection: assigns odd stream ids, matches responses, enforces deadlines.
final class TTRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoderEvent
    typealias OutboundOut = Frame

    private struct Pending {
        var promise: EventLoopPromise<Ttrpc_Response>
        var deadline: Scheduled<Void>?
        var method: String
    }

    private let maxFrameBytes: Int
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var nextStreamID: UInt32 = WireLimits.firstClientStreamID
    private var pending: [UInt32: Pending] = [:]
    private var closedReason: String?

    init(maxFrameBytes: Int, logger: Logger) {
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.failAll(reason: "the connection handler was removed")
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(reason: "the server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.warning("closing ttrpc client connection: \(error)")
        self.failAll(reason: "the connection failed: \(error)")
        context.close(promise: nil)
    }

    /// Sends one request; `promise` receives the response (or the failure).
    func start(payload: [UInt8], timeoutNanos: Int64, method: String, promise: EventLoopPromise<Ttrpc_Response>) {
        guard let context = self.context, self.closedReason == nil, context.channel.isActive else {
            promise.fail(RPCError.unavailable("CONNECTION_CLOSED",
                                              "\(method): the connection is closed (\(self.closedReason ?? "not connected")); reconnect"))
            return
        }
        guard self.nextStreamID < UInt32.max - 1 else {
            promise.fail(RPCError(.resourceExhausted, reason: "STREAM_IDS_EXHAUSTED",
                                  message: "this connection has used every stream id; open a new connection"))
            return
        }
        let streamID = self.nextStreamID
        self.nextStreamID += 2
        var deadline: Scheduled<Void>?
        if timeoutNanos > 0 {
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(timeoutNanos)) {
                self.expire(streamID)
            }
        }
        self.pending[streamID] = Pending(promise: promise, deadline: deadline, method: method)
        let frame = Frame(streamID: streamID, type: .request, flags: [],
                          payload: context.channel.allocator.buffer(bytes: payload))
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenFailure { error in
            self.complete(streamID, .failure(RPCError.unavailable("SEND_FAILED", "\(method): the request could not be sent: \(error)")))
        }
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: written)
    }

    /// Abandons a call whose task was cancelled.
    func cancel(_ promise: EventLoopPromise<Ttrpc_Response>) {
        guard let streamID = self.pending.first(where: { $0.value.promise == promise })?.key else { return }
        self.complete(streamID, .failure(RPCError(.cancelled, reason: "CANCELLED", message: "the call was cancelled")))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .oversized(let streamID, let type, let length):
            guard type == FrameType.response.rawValue else { return }
            self.complete(streamID, .failure(RPCError(
                .resourceExhausted, reason: "RESPONSE_TOO_LARGE",
                message: "the \(length)-byte response exceeds this client's \(self.maxFrameBytes)-byte frame limit")))
        case .frame(let frame):
            guard frame.type == .response else { return }
            guard self.pending[frame.streamID] != nil else {
                self.logger.debug("dropping a response for an unknown stream", metadata: ["stream": "\(frame.streamID)"])
                return
            }
            do {
                self.complete(frame.streamID, .success(try frame.decodeResponse()))
            } catch {
                self.complete(frame.streamID, .failure(RPCError(
                    .internal, reason: "MALFORMED_RESPONSE", message: "the response frame does not hold a ttrpc.Response: \(error)")))
            }
        }
    }

    private func expire(_ streamID: UInt32) {
        guard let method = self.pending[streamID]?.method else { return }
        self.complete(streamID, .failure(RPCError(.deadlineExceeded, reason: "DEADLINE_EXCEEDED",
                                                  message: "\(method) got no answer before the deadline")))
    }

    private func complete(_ streamID: UInt32, _ result: Result<Ttrpc_Response, any Error>) {
        guard let entry = self.pending.removeValue(forKey: streamID) else { return }
        entry.deadline?.cancel()
        entry.promise.completeWith(result)
    }

    private func failAll(reason: String) {
        if self.closedReason == nil { self.closedReason = reason }
        let entries = self.pending
        self.pending.removeAll()
        for (_, entry) in entries {
            entry.deadline?.cancel()
            entry.promise.fail(RPCError.unavailable("CONNECTION_CLOSED", "\(entry.method): \(reason)"))
        }
    }
}
