import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Forwards the enclave's outbound key-broker connections (DESIGN.md §7): the enclave has no network, so the bridge
/// gives it a Unix socket in its private socket folder and splices each connection on it to **one** configured
/// TCP address, the key broker's — never anywhere else (the role of Nitro's vsock-proxy allowlist). Bytes are
/// copied as they are: the broker's answers are sealed to a key only the enclave holds, so the bridge learns nothing.
///
/// With a ``TrafficRecorder`` every forwarded byte is recorded too (``TrafficDirection/enclaveToBroker`` and
/// ``TrafficDirection/brokerToEnclave``), so an audit of what the host saw covers the key release.
///
/// Bounded: at most ``maxConnections`` at once (one more is closed at once), each closed after ``idleTimeout`` with
/// no bytes either way. One log line per connection when it ends: bytes each way and how it ended.
public final class KeyBrokerForwarder: Sendable {
    /// Where the enclave's connections arrive.
    public enum Listen: Sendable, Equatable, CustomStringConvertible {
        /// A Unix socket: the bridge's private folder (a launched enclave), or `UDS_PATH_<port>` where a
        /// Firecracker / Cloud Hypervisor VMM delivers its guest's connections to host port `port`.
        case unix(path: String)
        /// An AF_VSOCK port on the host, admitting only the guest `peerCID` (QEMU `vhost-vsock-pci`, Nitro).
        case vsock(port: UInt32, peerCID: UInt32)

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .vsock(let port, let cid): "vsock port \(port) (from CID \(cid) only)"
            }
        }
    }

    /// The broker's address.
    public let target: (host: String, port: Int)
    /// Where the enclave connects.
    public let listen: Listen
    /// Connections forwarded at once, at most.
    public let maxConnections: Int
    /// A connection with no bytes either way for this long is closed.
    public let idleTimeout: TimeAmount
    private let serverChannel: (any Channel)?
    private let acceptor: VsockAcceptor?
    private let open: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    private init(target: (host: String, port: Int), listen: Listen, maxConnections: Int, idleTimeout: TimeAmount,
                 serverChannel: (any Channel)?, acceptor: VsockAcceptor?, open: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) {
        self.target = target
        self.listen = listen
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.serverChannel = serverChannel
        self.acceptor = acceptor
        self.open = open
    }

    /// The Unix socket the enclave connects to (nil when listening on vsock).
    public var socketPath: String? {
        if case .unix(let path) = listen { return path }
        return nil
    }

    /// Listens on `socketPath` and forwards each connection to `host:port`.
    /// - Throws: ``HostBridgeError`` `bindFailed` when the socket cannot be bound.
    public static func start(socketPath: String, host: String, port: Int, maxConnections: Int = 8,
                             idleTimeout: TimeAmount = .seconds(60), recorder: (any TrafficRecorder)? = nil,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger) async throws -> KeyBrokerForwarder {
        try await start(listen: .unix(path: socketPath), host: host, port: port, maxConnections: maxConnections,
                        idleTimeout: idleTimeout, recorder: recorder, group: group, logger: logger)
    }

    /// Listens at `listen` and forwards each connection to `host:port`.
    /// - Throws: ``HostBridgeError`` `bindFailed` when the socket cannot be bound.
    public static func start(listen: Listen, host: String, port: Int, maxConnections: Int = 8,
                             idleTimeout: TimeAmount = .seconds(60), recorder: (any TrafficRecorder)? = nil,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger) async throws -> KeyBrokerForwarder {
        let open = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let counter = NIOLockedValueBox<UInt64>(0)
        let target = "\(host):\(port)"
        // Admits one connection from the enclave (or closes it when the cap is reached) and starts its splice.
        let admit: @Sendable (any Channel) -> EventLoopFuture<Void> = { inbound in
            let id = ObjectIdentifier(inbound)
            let admitted = open.withLockedValue { channels -> Bool in
                guard channels.count < maxConnections else { return false }
                channels[id] = inbound
                return true
            }
            guard admitted else {
                logger.notice("key broker forwarding: refused a connection, \(maxConnections) are open")
                return inbound.close()
            }
            let number = counter.withLockedValue { value -> UInt64 in
                value += 1
                return value
            }
            inbound.closeFuture.whenComplete { _ in _ = open.withLockedValue { $0.removeValue(forKey: id) } }
            let ledger = ForwardLedger(number: number, target: target, recorder: recorder, logger: logger)
            return Self.connect(inbound, host: host, port: port, idleTimeout: idleTimeout, ledger: ledger, group: group)
        }
        var channel: (any Channel)?
        var acceptor: VsockAcceptor?
        switch listen {
        case .unix(let socketPath):
            do {
                channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 16)
                    .childChannelInitializer(admit)
                    .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).get()
            } catch {
                throw HostBridgeError(.bindFailed, "cannot listen for the enclave's key broker connections on \(socketPath): \(error)")
            }
        case .vsock(let vsockPort, let peerCID):
            acceptor = try VsockAcceptor(port: vsockPort, peerCID: peerCID, admit: { descriptor in
                _ = NIOPipeBootstrap(group: group).channelInitializer(admit).takingOwnershipOfDescriptor(inputOutput: descriptor)
            }, refuse: { cid in
                logger.warning("key broker forwarding: refused a connection from vsock CID \(cid): only the attached enclave (CID \(peerCID)) may reach the broker")
            })
        }
        logger.info("forwarding the enclave's key broker connections", metadata: ["listen": "\(listen)", "to": "\(target)"])
        return KeyBrokerForwarder(target: (host, port), listen: listen, maxConnections: maxConnections,
                                  idleTimeout: idleTimeout, serverChannel: channel, acceptor: acceptor, open: open)
    }

    /// Connections being forwarded now.
    public var connectionCount: Int { open.withLockedValue { $0.count } }

    /// Stops listening and closes every forwarded connection.
    public func close() async {
        try? await serverChannel?.close()
        acceptor?.close()
        for channel in open.withLockedValue({ Array($0.values) }) { try? await channel.close() }
    }

    /// Connects to the broker and splices the two channels.
    private static func connect(_ inbound: any Channel, host: String, port: Int, idleTimeout: TimeAmount,
                                ledger: ForwardLedger, group: any EventLoopGroup) -> EventLoopFuture<Void> {
        let outbound = ClientBootstrap(group: inbound.eventLoop)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port)
        return outbound.flatMap { outbound in
            let (toBroker, toEnclave) = SpliceHandler.pair(ledger: ledger)
            do {
                try inbound.pipeline.syncOperations.addHandlers(IdleStateHandler(allTimeout: idleTimeout), toBroker)
                try outbound.pipeline.syncOperations.addHandler(toEnclave)
            } catch {
                outbound.close(promise: nil)
                return inbound.eventLoop.makeFailedFuture(error)
            }
            // Reading starts once the enclave's channel is registered (after this initializer); each read waits
            // while the other side cannot take more (``SpliceHandler``).
            return inbound.eventLoop.makeSucceededVoidFuture()
        }.flatMapError { error in
            ledger.finish("the broker at \(host):\(port) could not be reached: \(error)")
            return inbound.close()
        }
    }
}

/// Counts one forwarded connection's bytes and logs its one line when it ends.
final class ForwardLedger: Sendable {
    let number: UInt64
    let target: String
    let recorder: (any TrafficRecorder)?
    let logger: Logger
    private let state = NIOLockedValueBox<(toBroker: Int, toEnclave: Int, done: Bool)>((0, 0, false))

    init(number: UInt64, target: String, recorder: (any TrafficRecorder)?, logger: Logger) {
        self.number = number
        self.target = target
        self.recorder = recorder
        self.logger = logger
    }

    /// Counts (and records) bytes read from the enclave, about to go to the broker.
    func forwarded(toBroker buffer: ByteBuffer) {
        state.withLockedValue { $0.toBroker += buffer.readableBytes }
        recorder?.record(buffer, direction: .enclaveToBroker, connection: number)
    }

    /// Counts (and records) bytes read from the broker, about to go to the enclave.
    func forwarded(toEnclave buffer: ByteBuffer) {
        state.withLockedValue { $0.toEnclave += buffer.readableBytes }
        recorder?.record(buffer, direction: .brokerToEnclave, connection: number)
    }

    /// Logs the connection's line, once.
    func finish(_ how: String) {
        let totals = state.withLockedValue { value -> (Int, Int)? in
            guard !value.done else { return nil }
            value.done = true
            return (value.toBroker, value.toEnclave)
        }
        guard let (toBroker, toEnclave) = totals else { return }
        logger.info("key broker connection \(number) to \(target): \(how)",
                    metadata: ["bytes_to_broker": "\(toBroker)", "bytes_to_enclave": "\(toEnclave)"])
    }
}
