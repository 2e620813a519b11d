import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A ttrpc server on a Unix socket or a TCP port (DESIGN.md §2).
///
/// Every connection gets its own pipeline: ``FrameDecoder`` → ``FrameEncoder`` → a connection handler
/// that parses `ttrpc.Request`s, admits them with the ``TTRPCServiceHandler`` one at a time in arrival
/// order, runs the admitted calls concurrently and writes each `ttrpc.Response` on its request's stream id.
///
/// * unknown service or method → `UNIMPLEMENTED`; a payload that is not a `ttrpc.Request` → `INVALID_ARGUMENT`;
/// * a frame over `maxFrameBytes` → `RESOURCE_EXHAUSTED` on its stream, after its payload was discarded;
/// * a request that would take its connection's unanswered request bytes over `maxInFlightBytes` →
///   `RESOURCE_EXHAUSTED` (`INFLIGHT_BYTES_EXCEEDED`) on its stream; so do calls past 1024 per connection;
/// * garbage or a truncated frame → that connection is closed with a logged reason; others are unaffected.
public final class TTRPCServer: Sendable {
    private let serverChannel: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    private let logger: Logger

    /// The bound address (for TCP, read ``port`` to learn the port chosen for port 0).
    public let localAddress: SocketAddress?

    /// The bound TCP port, or `nil` for a Unix socket.
    public var port: Int? { self.localAddress?.port }

    private init(serverChannel: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
                 logger: Logger) {
        self.serverChannel = serverChannel
        self.connections = connections
        self.logger = logger
        self.localAddress = serverChannel.localAddress
    }

    /// Binds a server to a Unix socket path (an existing socket file at that path is replaced).
    ///
    /// - Parameters:
    ///   - unixPath: the socket path (at most 107 bytes on Linux).
    ///   - handler: answers the calls.
    ///   - maxFrameBytes: the largest request payload accepted.
    ///   - maxInFlightBytes: request payload bytes one connection may have unanswered (never below one frame).
    ///   - group: the event loops to run on.
    ///   - logger: receives connection-level problems (malformed frames, closed connections).
    /// - Throws: the socket error if the path cannot be bound.
    public static func bind(unixPath: String, handler: some TTRPCServiceHandler,
                            maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
                            maxInFlightBytes: Int = WireLimits.defaultMaxInFlightBytes,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "enclava.ttrpc.server")) async throws -> TTRPCServer {
        try await bind(handler: handler, maxFrameBytes: maxFrameBytes, maxInFlightBytes: maxInFlightBytes, group: group,
                       logger: logger) { try await $0.bind(unixDomainSocketPath: unixPath, cleanupExistingSocketFile: true).get() }
    }

    /// Binds a server to a TCP address; pass port 0 to let the system choose (see ``port``).
    ///
    /// - Parameters:
    ///   - host: the address to listen on, e.g. `127.0.0.1`.
    ///   - port: the port, or 0.
    ///   - handler: answers the calls.
    ///   - maxFrameBytes: the largest request payload accepted.
    ///   - maxInFlightBytes: request payload bytes one connection may have unanswered (never below one frame).
    ///   - maxConnections: open connections at most; one accepted beyond it is closed at once (logged).
    ///   - maxConnectionsPerAddress: open connections from one IP address at most (one peer cannot take every slot).
    ///   - idleTimeout: a connection with no bytes either way for this long is closed (logged); nil: never.
    ///   - group: the event loops to run on.
    ///   - logger: receives connection-level problems.
    /// - Throws: the socket error if the address cannot be bound.
    public static func bind(host: String, port: Int, handler: some TTRPCServiceHandler,
                            maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
                            maxInFlightBytes: Int = WireLimits.defaultMaxInFlightBytes,
                            maxConnections: Int = .max, maxConnectionsPerAddress: Int = .max,
                            idleTimeout: TimeAmount? = nil,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "enclava.ttrpc.server")) async throws -> TTRPCServer {
        try await bind(handler: handler, maxFrameBytes: maxFrameBytes, maxInFlightBytes: maxInFlightBytes,
                       maxConnections: maxConnections, maxConnectionsPerAddress: maxConnectionsPerAddress,
                       idleTimeout: idleTimeout, group: group, logger: logger) { try await $0.bind(host: host, port: port).get() }
    }

    /// Binds a server to an AF_VSOCK port on any context ID (inside a confidential VM or Nitro enclave, where the
    /// host reaches it as `vsock:CID:PORT`).
    ///
    /// - Parameters: as ``bind(host:port:handler:maxFrameBytes:maxInFlightBytes:group:logger:)``.
    /// - Throws: the socket error if the kernel has no vsock transport or the port is taken.
    public static func bind(vsockPort: UInt32, handler: some TTRPCServiceHandler,
                            maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
                            maxInFlightBytes: Int = WireLimits.defaultMaxInFlightBytes,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "enclava.ttrpc.server")) async throws -> TTRPCServer {
        try await bind(handler: handler, maxFrameBytes: maxFrameBytes, maxInFlightBytes: maxInFlightBytes, group: group,
                       logger: logger) { try await $0.bind(to: VsockAddress(cid: .any, port: .init(rawValue: vsockPort))).get() }
    }

    /// The one path behind the three public binds: a server bootstrap with these limits, bound by `bind`.
    private static func bind(handler: some TTRPCServiceHandler, maxFrameBytes: Int, maxInFlightBytes: Int,
                             maxConnections: Int = .max, maxConnectionsPerAddress: Int = .max, idleTimeout: TimeAmount? = nil,
                             group: any EventLoopGroup, logger: Logger,
                             _ bind: (ServerBootstrap) async throws -> any Channel) async throws -> TTRPCServer {
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let bootstrap = Self.bootstrap(group: group, handler: handler, maxFrameBytes: maxFrameBytes,
                                       maxInFlightBytes: maxInFlightBytes, maxConnections: maxConnections,
                                       maxConnectionsPerAddress: maxConnectionsPerAddress, idleTimeout: idleTimeout,
                                       connections: connections, logger: logger)
        let channel = try await bind(bootstrap)
        logger.debug("ttrpc server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "vsock")"])
        return TTRPCServer(serverChannel: channel, connections: connections, logger: logger)
    }

    /// The number of open client connections.
    public var connectionCount: Int { self.connections.withLockedValue { $0.count } }

    /// Stops accepting, closes every open connection (in-flight calls are dropped) and waits.
    public func close() async {
        try? await self.serverChannel.close()
        let open = self.connections.withLockedValue { Array($0.values) }
        for channel in open {
            try? await channel.close()
        }
    }

    private static func bootstrap(group: any EventLoopGroup, handler: some TTRPCServiceHandler, maxFrameBytes: Int,
                                  maxInFlightBytes: Int, maxConnections: Int = .max, maxConnectionsPerAddress: Int = .max,
                                  idleTimeout: TimeAmount? = nil,
                                  connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
                                  logger: Logger) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                let address = channel.remoteAddress?.ipAddress
                let refusal = connections.withLockedValue { open -> String? in
                    guard open.count < maxConnections else { return "\(maxConnections) are open" }
                    if let address, maxConnectionsPerAddress < .max,
                       open.values.lazy.filter({ $0.remoteAddress?.ipAddress == address }).count >= maxConnectionsPerAddress {
                        return "\(maxConnectionsPerAddress) are open from \(address)"
                    }
                    open[id] = channel
                    return nil
                }
                if let refusal {
                    logger.notice("refused a connection: \(refusal)",
                                  metadata: ["peer": "\(channel.remoteAddress.map { "\($0)" } ?? "unix")"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let idleTimeout {
                        try sync.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                        try sync.addHandler(TTRPCIdleCloser(logger: logger))
                    }
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    try sync.addHandler(TTRPCServerConnectionHandler(service: handler, maxFrameBytes: maxFrameBytes,
                                                                     maxInFlightBytes: maxInFlightBytes, logger: logger))
                }
            }
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
    }
}
