import Logging
import NIOCore
import NIOPosix

extension TTRPCClient {
    /// Connects through a VMM's hybrid vsock socket (``HybridVsock``), retrying while the guest is not listening
    /// yet: attempt `k` has a slot of 25 ms · 2^k (at most 10 s) and the next attempt starts when the slot ends,
    /// all within `total`.
    /// - Throws: ``RPCError`` `UNAVAILABLE` (reason `CONNECT_FAILED`) naming the last failure and the attempts
    ///   made, at once for an answer that is not `OK <port>`.
    static func connectHybridVsock(_ endpoint: TTRPCEndpoint, group: any EventLoopGroup, total: Duration,
                                   initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>,
                                   logger: Logger) async throws -> any Channel {
        guard case .hvsock(let path, _) = endpoint else { preconditionFailure("an hvsock endpoint") }
        let clock = ContinuousClock()
        let start = clock.now
        var lastFailure = "no attempt was made"
        var attempts = 0
        for slot in HybridVsock.attemptDeadlines(total: total) {
            attempts += 1
            let slotEnd = clock.now + slot
            do {
                let channel = try await endpoint.connectChannel(on: group, timeout: .nanoseconds(Self.nanoseconds(slot)),
                                                                initializer: initializer).get()
                logger.debug("hybrid vsock connected", metadata: ["endpoint": "\(endpoint)", "attempts": "\(attempts)"])
                return channel
            } catch let failure as HybridVsock.AttemptFailure {
                guard failure.isRetryable else {
                    throw RPCError.unavailable("CONNECT_FAILED", "cannot connect to \(endpoint): \(failure)")
                }
                lastFailure = failure.description
            } catch {
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
