import NIOCore

/// One half of a byte splice between two channels (the key broker forwarding): what one side reads, the other
/// writes; reading waits while the other side cannot take more (back-pressure); either side closing closes both.
final class SpliceHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: SpliceHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let ledger: ForwardLedger
    private let towardBroker: Bool

    private init(ledger: ForwardLedger, towardBroker: Bool) {
        self.ledger = ledger
        self.towardBroker = towardBroker
    }

    /// The two halves: the first goes in the enclave's channel, the second in the broker's.
    static func pair(ledger: ForwardLedger) -> (SpliceHandler, SpliceHandler) {
        let enclaveSide = SpliceHandler(ledger: ledger, towardBroker: true)
        let brokerSide = SpliceHandler(ledger: ledger, towardBroker: false)
        enclaveSide.partner = brokerSide
        brokerSide.partner = enclaveSide
        return (enclaveSide, brokerSide)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if towardBroker { ledger.forwarded(toBroker: buffer) } else { ledger.forwarded(toEnclave: buffer) }
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) {
        ledger.finish(towardBroker ? "the enclave closed it" : "the broker closed it")
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ledger.finish("closed on error: \(error)")
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            ledger.finish("closed after the idle timeout")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }

    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ buffer: ByteBuffer) { context?.write(wrapOutboundOut(buffer), promise: nil) }

    private func partnerFlush() { context?.flush() }

    private func partnerClose() { context?.close(promise: nil) }

    /// The other side can take bytes again: a read this side held back goes ahead.
    private func partnerBecameWritable() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }
}
