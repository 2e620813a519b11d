import Logging
import NIOCore

/// Closes a server connection that sent and received nothing for the idle timeout (after an `IdleStateHandler`
/// ahead of it), so a peer that only holds a slot cannot keep it for ever (``TTRPCServer`` with `idleTimeout`).
/// For services whose calls are short (the key broker): a call in flight longer than the timeout is cut too.
final class TTRPCIdleCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.notice("closing an idle connection",
                          metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix")"])
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
