import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

extension TTRPCClient {
    /// Connects through a VMM's hybrid vsock socket (``HybridVsock``), retrying while the guest is not listening
    /// yet: attempt `k` has a slot of 25 ms · 2^k (at most 10 s) and the next attempt starts when the slot ends,
    /// all within `total`.
    /// - Throws: ``RPCError`` `UNAVAILABLE` (reason `CONNECT_FAILED`) naming the last failure and the attempts
    ///   made, at once for an answer that is not `OK <port>`.
    static func connectHybridVsock(path: String, port: UInt32, endpoint: TTRPCEndpoint, maxFrameBytes: Int,
                                   group: any EventLoopGroup, total: Duration, logger: Logger) async throws -> any Channel {
        let clock = ContinuousClock()
        let start = clock.now
        var lastFailure = "no attempt was made"
        var attempts = 0
        for slot in HybridVsock.attemptDeadlines(total: total) {
            attempts += 1
            let slotEnd = clock.now + slot
            let promise = NIOLockedValueBox<EventLoopPromise<UInt32>?>(nil)
            let bootstrap = Self.bootstrap(
                group: group, connectTimeout: slot, maxFrameBytes: maxFrameBytes,
                hybridVsock: (port, { channel in
                    let made = channel.eventLoop.makePromise(of: UInt32.self)
                    promise.withLockedValue { $0 = made }
                    return made
                }), logger: logger)
            do {
                let channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
                guard let answer = promise.withLockedValue({ $0 }) else { preconditionFailure("the initializer made the promise") }
                let wait = TimeAmount.nanoseconds(Self.nanoseconds(max(slotEnd - clock.now, .milliseconds(1))))
                let timeout = channel.eventLoop.scheduleTask(in: wait) {
                    answer.fail(HybridVsock.AttemptFailure.noAnswer)
                    channel.close(promise: nil)
                }
                do {
                    let hostPort = try await answer.futureResult.get()
                    timeout.cancel()
                    logger.debug("hybrid vsock connected", metadata: ["endpoint": "\(endpoint)", "host_port": "\(hostPort)",
                                                                      "attempts": "\(attempts)"])
                    return channel
                } catch let failure as HybridVsock.AttemptFailure {
                    timeout.cancel()
                    try? await channel.close()
                    guard failure.isRetryable else {
                        throw RPCError.unavailable("CONNECT_FAILED", "cannot connect to \(endpoint): \(failure)")
                    }
                    lastFailure = failure.description
                }
            } catch let error as RPCError {
                throw error
            } catch {
                // The initializer may have made the promise before the connect failed; nothing else completes it.
                promise.withLockedValue { $0 }?.fail(HybridVsock.AttemptFailure.guestNotListening)
                lastFailure = "the VMM socket: " + describeConnectFailure(error, .unix(path))
            }
            let rest = slotEnd - clock.now
            if rest > .zero { try await Task.sleep(for: rest) }
        }
        let waited = clock.now - start
        throw RPCError.unavailable("CONNECT_FAILED", "cannot connect to \(endpoint): \(lastFailure) (\(attempts) attempts in "
            + "\(waited.components.seconds) s); start the enclave, check the VMM socket and guest port, or allow longer with --connect-timeout")
    }
}
