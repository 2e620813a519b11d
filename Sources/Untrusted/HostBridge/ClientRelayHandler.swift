import EnclavaWire
import Logging
import NIOCore
import NIOPosix

/// The client side of one relay: frames from a TCP client go to the enclave over a connection of their
/// own (so stream ids, sessions and issued evidence stay per connection), frames from the enclave come
/// back. Nothing is decrypted; only the ttrpc envelope (service, method, stream id) is looked at.
///
/// * only client calls are relayed, within the connection's byte budget (the rules are
///   ``ClientRelayLedger``'s): `Shutdown` → `PERMISSION_DENIED` (`HOST_ONLY_METHOD`), an unknown service or
///   method → `UNIMPLEMENTED` (`METHOD_NOT_RELAYED`), over the budget → `RESOURCE_EXHAUSTED`
///   (`INFLIGHT_BYTES_EXCEEDED`), none of them forwarded;
/// * a client frame over the limit → `RESOURCE_EXHAUSTED` on its stream; the connection stays up;
/// * while the link to the enclave is being (re)connected, at most `maxQueuedRequests` requests wait; one
///   more → `UNAVAILABLE` (`RECONNECT_QUEUE_FULL`);
/// * a malformed client stream → this client is closed, with a logged reason; nobody else notices;
/// * the enclave connection drops → every open request of this client gets `UNAVAILABLE`; the next
///   request reconnects once the enclave is ready again.
final class ClientRelayHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoderEvent
    typealias OutboundOut = ByteBuffer

    enum Link {
        case idle
        case connecting(queued: [Frame])
        case connected(any Channel)
        /// An in-process enclave's connection (``OcallEnclaveLink``).
        case ocall(OcallEnclaveLink)
        case closed
    }

    let connectionID: UInt64
    private let state: BridgeState
    let limits: ClientRelayLimits
    private let idle: ClientIdleHandler
    let recorder: (any TrafficRecorder)?
    var logger: Logger
    private var context: ChannelHandlerContext?
    var link: Link = .idle
    /// Requests relayed (or queued) and not yet answered.
    private var ledger: ClientRelayLedger
    private var requestLog: RequestLog?

    init(connectionID: UInt64, state: BridgeState, limits: ClientRelayLimits, idle: ClientIdleHandler,
         recorder: (any TrafficRecorder)?, logger: Logger) {
        self.connectionID = connectionID
        self.state = state
        self.limits = limits
        self.ledger = ClientRelayLedger(maxInFlightBytes: limits.maxInFlightBytes)
        self.requestLog = limits.logRequests ? RequestLog() : nil
        self.idle = idle
        self.recorder = recorder
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(connectionID)"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let peer = context.channel.remoteAddress { self.logger[metadataKey: "peer"] = "\(peer)" }
        let logger = self.logger
        let timeout = self.limits.idleTimeout
        self.idle.onIdle = { logger.info("closing an idle client connection (nothing in flight and no bytes for \(timeout))") }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.adjustInFlight(by: -self.ledger.releaseAll())
        self.idle.callsInFlight = 0
        if case .connected(let enclave) = self.link { enclave.close(promise: nil) }
        if case .ocall(let link) = self.link { link.close() }
        self.link = .closed
        self.logger.debug("client disconnected")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.warning("closing client connection: \(error)")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Back-pressure: stop reading from the enclave while the client cannot keep up.
        if case .connected(let enclave) = self.link {
            enclave.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        }
        if case .ocall(let link) = self.link { link.pause(!context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .oversized(let streamID, let type, let length):
            self.logger.notice("discarded an oversized client frame",
                               metadata: ["stream": "\(streamID)", "length": "\(length)", "limit": "\(self.limits.maxFrameBytes)"])
            if type == FrameType.request.rawValue {
                self.refuse(streamID, .frameTooLarge(length: Int(length), limit: self.limits.maxFrameBytes))
            }
        case .frame(let frame):
            guard frame.type == .request else {
                self.logger.debug("dropped a \(frame.type) frame from a client", metadata: ["stream": "\(frame.streamID)"])
                return
            }
            self.admit(frame)
        }
    }

    // MARK: client → enclave

    /// Checks a client request against the relay's rules and bounds, then forwards it (or answers it).
    private func admit(_ frame: Frame) {
        let request: Ttrpc_Request
        do {
            request = try frame.decodeRequest()
        } catch {
            self.refuse(frame.streamID, RPCError(.invalidArgument, reason: BridgeReason.malformedRequest,
                                                 message: "the request frame does not hold a ttrpc.Request: \(error)"))
            return
        }
        self.requestLog?.begin(streamID: frame.streamID, method: request.method,
                               bytes: WireLimits.headerByteCount + frame.payload.readableBytes)
        if let refusal = self.ledger.admit(streamID: frame.streamID, service: request.service, method: request.method,
                                           bytes: WireLimits.headerByteCount + frame.payload.readableBytes,
                                           draining: self.state.isDraining) {
            if refusal.reason == BridgeReason.hostOnlyMethod || refusal.reason == BridgeReason.methodNotRelayed {
                self.logger.notice("refused a call the bridge does not relay",
                                   metadata: ["service": "\(request.service.prefix(100))", "method": "\(request.method.prefix(100))"])
            }
            self.refuse(frame.streamID, refusal)
            return
        }
        self.idle.callsInFlight = self.ledger.inFlight.count
        self.state.adjustInFlight(by: 1)
        self.forward(frame)
    }

    private func forward(_ frame: Frame) {
        switch self.link {
        case .connected(let enclave):
            self.write(frame, to: enclave)
        case .ocall(let link):
            self.write(frame, to: link)
        case .connecting(var queued):
            guard queued.count < self.limits.maxQueuedRequests else {
                self.fail(frame.streamID, .unavailable(BridgeReason.reconnectQueueFull,
                                                       "\(queued.count) requests of this connection already wait for the "
                                                           + "link to the enclave; retry once earlier ones are answered"))
                return
            }
            queued.append(frame)
            self.link = .connecting(queued: queued)
        case .idle:
            switch self.state.availability {
            case .ready(let endpoint):
                self.link = .connecting(queued: [frame])
                // Connect once the current read burst has been admitted (bounded by the queue), never from
                // inside it: a connect that completes at once must not re-enter this handler.
                guard let context = self.context else { return }
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                context.eventLoop.execute { bound.value.connect(endpoint) }
            case .readyInProcess(let enclave):
                guard let context = self.context else { return }
                let link = self.openOcallLink(enclave, eventLoop: context.eventLoop)
                self.link = .ocall(link)
                self.write(frame, to: link)
            case .starting:
                self.fail(frame.streamID, .unavailable(BridgeReason.enclaveUnavailable, "the enclave is starting; retry shortly"))
            case .down(let reason):
                self.fail(frame.streamID, .unavailable(BridgeReason.enclaveUnavailable, "\(reason); retry shortly"))
            }
        case .closed:
            break
        }
    }

    private func write(_ frame: Frame, to enclave: any Channel) {
        guard let bytes = try? frame.encoded(allocator: enclave.allocator) else { return }
        self.recorder?.record(bytes, direction: .clientToEnclave, connection: self.connectionID)
        enclave.writeAndFlush(bytes, promise: nil)
    }

    private func connect(_ endpoint: TTRPCEndpoint) {
        guard let context = self.context, case .connecting = self.link else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let maxFrameBytes = self.limits.maxFrameBytes
        let eventLoop = context.eventLoop
        endpoint.connectChannel(on: eventLoop, timeout: .seconds(5)) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
                try sync.addHandler(EnclaveLinkHandler(client: bound))
            }
        }.hop(to: eventLoop).whenComplete { result in
            bound.value.linkResult(result)
        }
    }

    private func linkResult(_ result: Result<any Channel, any Error>) {
        guard case .connecting(let queued) = self.link else {
            if case .success(let channel) = result { channel.close(promise: nil) }   // client left meanwhile
            return
        }
        switch result {
        case .success(let enclave):
            self.link = .connected(enclave)
            for frame in queued { self.write(frame, to: enclave) }
        case .failure(let error):
            self.logger.warning("cannot reach the enclave: \(error)")
            self.link = .idle
            for frame in queued {
                self.fail(frame.streamID, .unavailable(BridgeReason.enclaveUnavailable, "the enclave cannot be reached; retry shortly"))
            }
        }
    }

    // MARK: enclave → client

    func enclaveSent(_ event: FrameDecoderEvent, from enclave: any Channel) {
        guard case .connected(let current) = self.link, current === enclave else { return }
        self.enclaveSent(event)
    }

    /// One frame (or oversized frame) from the enclave, whatever the link.
    func enclaveSent(_ event: FrameDecoderEvent) {
        switch event {
        case .frame(let frame):
            if frame.type == .response { self.release(frame.streamID) }
            self.send(frame, direction: .enclaveToClient)
        case .oversized(let streamID, let type, let length):
            self.logger.warning("discarded an oversized enclave frame", metadata: ["stream": "\(streamID)", "length": "\(length)"])
            if type == FrameType.response.rawValue {
                self.fail(streamID, RPCError(.resourceExhausted, reason: BridgeReason.responseTooLarge,
                                             message: "the enclave's \(length)-byte response exceeds the bridge's \(self.limits.maxFrameBytes)-byte frame limit"))
            }
        }
    }

    func enclaveWritabilityChanged(_ writable: Bool) {
        self.context?.channel.setOption(ChannelOptions.autoRead, value: writable).whenFailure { _ in }
    }

    func enclaveLinkClosed(_ enclave: any Channel, reason: String) {
        guard case .connected(let current) = self.link, current === enclave else { return }
        self.link = .idle
        self.context?.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        guard !self.ledger.inFlight.isEmpty else { return }
        self.logger.warning("enclave connection lost with \(self.ledger.inFlight.count) request(s) in flight: \(reason)")
        for streamID in self.ledger.inFlight.keys.sorted() {
            self.fail(streamID, .unavailable(BridgeReason.enclaveUnavailable,
                                             "the enclave connection was lost (\(reason)); retry once the enclave has restarted"))
        }
    }

    /// Forgets the accounting of an admitted request (answered by the enclave or by the bridge).
    private func release(_ streamID: UInt32) {
        guard self.ledger.release(streamID) else { return }
        self.idle.callsInFlight = self.ledger.inFlight.count
        self.state.adjustInFlight(by: -1)
    }

    /// Answers an admitted request with `error` from the bridge itself.
    func fail(_ streamID: UInt32, _ error: RPCError) {
        self.release(streamID)
        self.refuse(streamID, error)
    }

    /// Answers `streamID` with `error` from the bridge itself, leaving the accounting alone (the request was
    /// never admitted, or is being released by the caller).
    private func refuse(_ streamID: UInt32, _ error: RPCError) {
        guard let context = self.context else { return }
        self.send(.errorResponse(streamID: streamID, error, allocator: context.channel.allocator), direction: .bridgeToClient)
    }

    private func send(_ frame: Frame, direction: TrafficDirection) {
        guard let context = self.context, let bytes = try? frame.encoded(allocator: context.channel.allocator) else { return }
        if frame.type == .response, self.requestLog != nil {
            let response = try? frame.decodeResponse()
            if let line = self.requestLog?.end(streamID: frame.streamID, status: response?.hasStatus == true ? response?.status : nil,
                                               bytes: bytes.readableBytes) {
                self.logger.notice("request \(line)")
            }
        }
        self.recorder?.record(bytes, direction: direction, connection: self.connectionID)
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }
}
