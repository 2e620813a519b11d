import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

extension TTRPCEndpoint {
    /// Connects one byte stream to this endpoint, with a pipeline `initializer` sets up, in one attempt: for
    /// `hvsock:` the `CONNECT` handshake is done first (its handler goes before the caller's and removes itself),
    /// and the future succeeds only once the VMM answered `OK`. For relays that already know the enclave is up
    /// (the host bridge); ``TTRPCClient/connect(to:maxFrameBytes:group:connectTimeout:logger:)`` retries instead.
    ///
    /// - Returns: the connected channel, or a failed future: the socket error, or a
    ///   ``HybridVsock/AttemptFailure`` for an `hvsock:` endpoint whose VMM did not answer `OK` in `timeout`.
    public func connectChannel(on group: any EventLoopGroup, timeout: TimeAmount,
                               initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>)
        -> EventLoopFuture<any Channel> {
        let answer = NIOLockedValueBox<EventLoopPromise<UInt32>?>(nil)
        let hybridPort: UInt32? = if case .hvsock(_, let port) = self { port } else { nil }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                if let hybridPort {
                    let promise = channel.eventLoop.makePromise(of: UInt32.self)
                    answer.withLockedValue { $0 = promise }
                    do {
                        try channel.pipeline.syncOperations.addHandler(HybridVsockConnectHandler(port: hybridPort, done: promise))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return initializer(channel)
            }
        let connected: EventLoopFuture<any Channel> = switch self {
        case .unix(let path): bootstrap.connect(unixDomainSocketPath: path)
        case .tcp(let host, let port): bootstrap.connect(host: host, port: port)
        case .vsock(let cid, let port): bootstrap.connect(to: VsockAddress(cid: .init(rawValue: cid), port: .init(rawValue: port)))
        case .hvsock(let path, _): bootstrap.connect(unixDomainSocketPath: path)
        }
        guard hybridPort != nil else { return connected }
        return connected.flatMapError { error in
            answer.withLockedValue { $0 }?.fail(HybridVsock.AttemptFailure.guestNotListening)
            return connected.eventLoop.makeFailedFuture(error)
        }.flatMap { channel in
            guard let promise = answer.withLockedValue({ $0 }) else {
                return channel.eventLoop.makeFailedFuture(HybridVsock.AttemptFailure.guestNotListening)
            }
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                promise.fail(HybridVsock.AttemptFailure.noAnswer)
                channel.close(promise: nil)
            }
            return promise.futureResult.map { _ in
                timer.cancel()
                return channel
            }
        }
    }
}
