import EnclavaWire
import NIOCore

/// The enclave side of one relay: hands decoded enclave frames to the client side (same event loop).
final class EnclaveLinkHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoderEvent

    private let client: NIOLoopBound<ClientRelayHandler>
    private var closeReason: String?

    init(client: NIOLoopBound<ClientRelayHandler>) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.client.value.enclaveSent(self.unwrapInboundIn(data), from: context.channel)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.client.value.enclaveWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.closeReason = "\(error)"
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.client.value.enclaveLinkClosed(context.channel, reason: self.closeReason ?? "the enclave closed the connection")
        context.fireChannelInactive()
    }
}
