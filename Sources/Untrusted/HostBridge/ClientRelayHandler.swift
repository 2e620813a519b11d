import EnclavaWire
import Logging
import NIOCore
import NIOPosix

/// The client side of one relay: frames from a TCP client go to the enclave over a connection of their
/// own (so stream ids stay per connection), frames from the enclave come back. Nothing is decrypted;
/// only the ttrpc framing and the stream ids of open requests are looked at.
///
/// * a client frame over the limit → `RESOURCE_EXHAUSTED` on its stream; the connection stays up;
/// * a malformed client stream → this client is closed, with a logged reason; nobody else notices;
/// * the enclave connection drops → every open request of this client gets `UNAVAILABLE`; the next
///   request reconnects once the enclave is ready again.
final class ClientRelayHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoderEvent
    typealias OutboundOut = ByteBuffer

    private enum Link {
        case idle
        case connecting(queued: [Frame])
        case connected(any Channel)
        case closed
    }

    private let connectionID: UInt64
    private let state: BridgeState
    private let maxFrameBytes: Int
    private let recorder: (any TrafficRecorder)?
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var link: Link = .idle
    private var inFlight: Set<UInt32> = []

    init(connectionID: UInt64, state: BridgeState, maxFrameBytes: Int, recorder: (any TrafficRecorder)?, logger: Logger) {
        self.connectionID = connectionID
        self.state = state
        self.maxFrameBytes = maxFrameBytes
        self.recorder = recorder
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(connectionID)"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let peer = context.channel.remoteAddress { self.logger[metadataKey: "peer"] = "\(peer)" }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.adjustInFlight(by: -self.inFlight.count)
        self.inFlight.removeAll()
        if case .connected(let enclave) = self.link { enclave.close(promise: nil) }
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
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .oversized(let streamID, let type, let length):
            self.logger.notice("discarded an oversized client frame",
                               metadata: ["stream": "\(streamID)", "length": "\(length)", "limit": "\(self.maxFrameBytes)"])
            if type == FrameType.request.rawValue {
                self.answer(streamID, .frameTooLarge(length: Int(length), limit: self.maxFrameBytes))
            }
        case .frame(let frame):
            if frame.type == .request {
                if self.state.isDraining {
                    self.answer(frame.streamID, .unavailable("SHUTTING_DOWN", "the host bridge is shutting down; retry on another host"))
                    return
                }
                if self.inFlight.insert(frame.streamID).inserted { self.state.adjustInFlight(by: 1) }
            }
            self.forward(frame)
        }
    }

    // MARK: client → enclave

    private func forward(_ frame: Frame) {
        switch self.link {
        case .connected(let enclave):
            self.write(frame, to: enclave)
        case .connecting(var queued):
            queued.append(frame)
            self.link = .connecting(queued: queued)
        case .idle:
            switch self.state.availability {
            case .ready(let socketPath):
                self.link = .connecting(queued: [frame])
                self.connect(socketPath)
            case .starting:
                self.refuse(frame, reason: "the enclave is starting")
            case .down(let reason):
                self.refuse(frame, reason: reason)
            }
        case .closed:
            break
        }
    }

    private func refuse(_ frame: Frame, reason: String) {
        guard frame.type == .request else { return }
        self.answer(frame.streamID, .unavailable("ENCLAVE_UNAVAILABLE", "\(reason); retry shortly"))
    }

    private func write(_ frame: Frame, to enclave: any Channel) {
        guard let bytes = try? frame.encoded(allocator: enclave.allocator) else { return }
        self.recorder?.record(bytes, direction: .clientToEnclave, connection: self.connectionID)
        enclave.writeAndFlush(bytes, promise: nil)
    }

    private func connect(_ socketPath: String) {
        guard let context = self.context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let maxFrameBytes = self.maxFrameBytes
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try sync.addHandler(EnclaveLinkHandler(client: bound))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .whenComplete { result in
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
            for frame in queued { self.refuse(frame, reason: "the enclave cannot be reached") }
        }
    }

    // MARK: enclave → client

    func enclaveSent(_ event: FrameDecoderEvent, from enclave: any Channel) {
        guard case .connected(let current) = self.link, current === enclave else { return }
        switch event {
        case .frame(let frame):
            if frame.type == .response, self.inFlight.remove(frame.streamID) != nil {
                self.state.adjustInFlight(by: -1)
            }
            self.send(frame, direction: .enclaveToClient)
        case .oversized(let streamID, let type, let length):
            self.logger.warning("discarded an oversized enclave frame", metadata: ["stream": "\(streamID)", "length": "\(length)"])
            if type == FrameType.response.rawValue {
                self.answer(streamID, RPCError(.resourceExhausted, reason: "RESPONSE_TOO_LARGE",
                                               message: "the enclave's \(length)-byte response exceeds the bridge's \(self.maxFrameBytes)-byte frame limit"))
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
        guard !self.inFlight.isEmpty else { return }
        self.logger.warning("enclave connection lost with \(self.inFlight.count) request(s) in flight: \(reason)")
        for streamID in self.inFlight.sorted() {
            self.answer(streamID, .unavailable("ENCLAVE_UNAVAILABLE",
                                               "the enclave connection was lost (\(reason)); retry once the enclave has restarted"))
        }
    }

    /// Answers `streamID` with `error` from the bridge itself.
    private func answer(_ streamID: UInt32, _ error: RPCError) {
        if self.inFlight.remove(streamID) != nil { self.state.adjustInFlight(by: -1) }
        guard let context = self.context else { return }
        self.send(.errorResponse(streamID: streamID, error, allocator: context.channel.allocator), direction: .bridgeToClient)
    }

    private func send(_ frame: Frame, direction: TrafficDirection) {
        guard let context = self.context, let bytes = try? frame.encoded(allocator: context.channel.allocator) else { return }
        self.recorder?.record(bytes, direction: direction, connection: self.connectionID)
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }
}
