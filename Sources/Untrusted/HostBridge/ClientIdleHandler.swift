import NIOCore

/// The first handler of a client connection: closes it once it has had no call in flight and no bytes in
/// either direction for the idle timeout (`enclava serve --idle-timeout`). A connection that only holds a
/// slot, or trickles part of a frame and then stops, cannot keep it for ever.
///
/// ``ClientRelayHandler`` keeps ``callsInFlight`` up to date; a connection with a call in flight is never
/// idle, however long the enclave takes.
final class ClientIdleHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long a connection may stay idle.
    let timeout: TimeAmount
    /// Calls of this connection relayed and not yet answered.
    var callsInFlight = 0
    /// Called just before an idle connection is closed (the relay logs it).
    var onIdle: (() -> Void)?

    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(context: context, at: .now() + self.timeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.lastActivity = .now()
        self.arm(context: context, at: self.lastActivity + self.timeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.lastActivity = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.lastActivity = .now()
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        self.timer?.cancel()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.check(context: bound.value)
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
    }

    private func check(context: ChannelHandlerContext) {
        self.timer = nil
        guard context.channel.isActive else { return }
        let now = NIODeadline.now()
        if self.callsInFlight > 0 {
            self.arm(context: context, at: now + self.timeout)
        } else if now - self.lastActivity >= self.timeout {
            self.onIdle?()
            context.close(promise: nil)
        } else {
            self.arm(context: context, at: self.lastActivity + self.timeout)
        }
    }
}
