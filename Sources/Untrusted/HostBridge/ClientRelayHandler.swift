import Foundation
import EnclavaWire
import Logging
import NIOCore
import NIOPosix

/// The client side of one relay: frames from a TCP client go to the enclave over a connection of their
/// own (so stream ids, sessions and issued evidence stay per connection), frames from the enclave come
/// back. Nothing is decrypted; only the ttrpc envelope (service, method, stream id, the `enclava-model`
/// metadata) is looked at. A bridge with several enclaves keeps one link per enclave for this client and
/// relays each request, unchanged, on the link of the enclave its model name picks (``ModelRouter``).
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
    private let router: ModelRouter
    private let idle: ClientIdleHandler
    let recorder: (any TrafficRecorder)?
    var logger: Logger
    private var context: ChannelHandlerContext?
    /// One link per enclave (route).
    var links: [Link]
    /// The route of each admitted request not yet answered.
    private var routeOfStream: [UInt32: Int] = [:]
    /// Requests relayed (or queued) and not yet answered.
    private var ledger: ClientRelayLedger
    private var requestLog: RequestLog?

    init(connectionID: UInt64, state: BridgeState, limits: ClientRelayLimits, router: ModelRouter = ModelRouter(names: [nil]),
         idle: ClientIdleHandler, recorder: (any TrafficRecorder)?, logger: Logger) {
        self.connectionID = connectionID
        self.state = state
        self.limits = limits
        self.router = router
        self.links = Array(repeating: .idle, count: max(1, router.names.count))
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
        for case .connected(let enclave) in self.links { enclave.close(promise: nil) }
        for case .ocall(let link) in self.links { link.close() }
        self.links = self.links.map { _ in .closed }
        self.routeOfStream = [:]
        self.logger.debug("client disconnected")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.warning("closing client connection: \(error)")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Back-pressure: stop reading from the enclave while the client cannot keep up.
        for case .connected(let enclave) in self.links {
            enclave.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        }
        for case .ocall(let link) in self.links { link.pause(!context.channel.isWritable) }
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
        switch self.router.route(request) {
        case .enclave(let route):
            self.routeOfStream[frame.streamID] = route
            self.forward(frame, route: route)
        case .healthSummary:
            self.answerHealthSummary(frame.streamID)
        case .refuse(let error):
            self.fail(frame.streamID, error)
        }
    }

    private func forward(_ frame: Frame, route: Int) {
        switch self.links[route] {
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
            self.links[route] = .connecting(queued: queued)
        case .idle:
            switch self.state.availability(of: route) {
            case .ready(let endpoint):
                self.links[route] = .connecting(queued: [frame])
                // Connect once the current read burst has been admitted (bounded by the queue), never from
                // inside it: a connect that completes at once must not re-enter this handler.
                guard let context = self.context else { return }
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                context.eventLoop.execute { bound.value.connect(endpoint, route: route) }
            case .readyInProcess(let enclave):
                guard let context = self.context else { return }
                let link = self.openOcallLink(enclave, eventLoop: context.eventLoop)
                self.links[route] = .ocall(link)
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

    private func connect(_ endpoint: TTRPCEndpoint, route: Int) {
        guard let context = self.context, case .connecting = self.links[route] else { return }
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
            bound.value.linkResult(result, route: route)
        }
    }

    private func linkResult(_ result: Result<any Channel, any Error>, route: Int) {
        guard case .connecting(let queued) = self.links[route] else {
            if case .success(let channel) = result { channel.close(promise: nil) }   // client left meanwhile
            return
        }
        switch result {
        case .success(let enclave):
            self.links[route] = .connected(enclave)
            for frame in queued { self.write(frame, to: enclave) }
        case .failure(let error):
            self.logger.warning("cannot reach the enclave: \(error)", metadata: self.modelMetadata(route))
            self.links[route] = .idle
            for frame in queued {
                self.fail(frame.streamID, .unavailable(BridgeReason.enclaveUnavailable, "the enclave cannot be reached; retry shortly"))
            }
        }
    }

    // MARK: enclave → client

    /// The route whose current link is `enclave`, if any.
    private func route(of enclave: any Channel) -> Int? {
        self.links.firstIndex { if case .connected(let current) = $0 { current === enclave } else { false } }
    }

    private func modelMetadata(_ route: Int) -> Logger.Metadata {
        guard self.router.names.count > 1, let name = self.router.names[route] else { return [:] }
        return ["model": "\(name)"]
    }

    func enclaveSent(_ event: FrameDecoderEvent, from enclave: any Channel) {
        guard let route = self.route(of: enclave) else { return }
        self.enclaveSent(event, route: route)
    }

    /// One frame (or oversized frame) from the enclave of `route`, whatever the link.
    func enclaveSent(_ event: FrameDecoderEvent, route: Int) {
        switch event {
        case .frame(let frame):
            // A response from this link answers only a request relayed on it (a hostile enclave must not answer,
            // and so release, another enclave's call).
            guard frame.type != .response || self.routeOfStream[frame.streamID] == route else {
                self.logger.warning("dropped an enclave response for a stream not relayed to it",
                                    metadata: ["stream": "\(frame.streamID)"])
                return
            }
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
        guard let route = self.route(of: enclave) else { return }
        self.links[route] = .idle
        self.context?.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        let lost = self.ledger.inFlight.keys.filter { self.routeOfStream[$0] == route }.sorted()
        guard !lost.isEmpty else { return }
        self.logger.warning("enclave connection lost with \(lost.count) request(s) in flight: \(reason)",
                            metadata: self.modelMetadata(route))
        for streamID in lost {
            self.fail(streamID, .unavailable(BridgeReason.enclaveUnavailable,
                                             "the enclave connection was lost (\(reason)); retry once the enclave has restarted"))
        }
    }

    /// Forgets the accounting of an admitted request (answered by the enclave or by the bridge).
    private func release(_ streamID: UInt32) {
        self.routeOfStream[streamID] = nil
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

    // MARK: multi-model health

    /// Answers an unnamed `Health` on a bridge with several enclaves with ``ModelRouter/healthSummary(_:)``.
    private func answerHealthSummary(_ streamID: UInt32) {
        self.release(streamID)
        guard let context = self.context else { return }
        let health = self.router.healthSummary(self.router.names.indices.map { self.state.availability(of: $0) })
        var response = Ttrpc_Response()
        response.status = Google_Rpc_Status()
        response.payload = (try? health.serializedData()) ?? Data()
        guard let frame = try? Frame.response(streamID: streamID, response, allocator: context.channel.allocator) else { return }
        self.send(frame, direction: .bridgeToClient)
    }
}
