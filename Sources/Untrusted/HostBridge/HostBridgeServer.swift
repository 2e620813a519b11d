import EnclavaWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The untrusted host bridge (`enclava serve`): launches the enclave, then relays ttrpc frames between many
/// TCP clients and the enclave's private Unix socket without decrypting anything (DESIGN.md §1, §2).
///
/// ```swift
/// let bridge = HostBridgeServer(configuration: HostBridgeConfiguration(
///     listenPort: 7000,
///     enclave: .launch(.runtime(executablePath: runtimePath, imagePath: "model.eimg"))))
/// try await bridge.run()   // returns after SIGTERM/SIGINT or shutdown()
/// ```
public final class HostBridgeServer: Sendable {
    private enum Phase {
        case idle, starting, running, stopping, stopped
    }

    private struct Lifecycle {
        var phase: Phase = .idle
        var listener: (any Channel)?
        var failure: HostBridgeError?
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var shutdownRequested = false
    }

    /// The configuration the bridge runs with.
    public let configuration: HostBridgeConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: BridgeState
    /// One per enclave (route), in the order of ``HostBridgeConfiguration/routes``.
    private let supervisors: [EnclaveSupervisor]
    /// The first enclave's supervisor (the only one of a single-model bridge).
    private var supervisor: EnclaveSupervisor { self.supervisors[0] }
    private let lifecycle = NIOLockedValueBox(Lifecycle())

    /// Creates a bridge; nothing starts until ``start()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: listen address, enclave launch, limits.
    ///   - group: the event loops to run on.
    ///   - logger: receives lifecycle events, enclave stderr and refused connections.
    public init(configuration: HostBridgeConfiguration,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "enclava.host-bridge")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        let lifecycle = self.lifecycle
        let state = BridgeState(routeCount: configuration.routes.count)
        self.state = state
        self.supervisors = configuration.routes.indices.map { route in
            EnclaveSupervisor(configuration: configuration, route: route, state: state, group: group, logger: logger,
                              onGiveUp: { error in
                lifecycle.withLockedValue { $0.failure = $0.failure ?? error }
            })
        }
    }

    /// The process ids of the launched enclaves, in route order (nil for one not running).
    public var enclaveProcessIDs: [Int32?] {
        get async {
            var ids: [Int32?] = []
            for supervisor in self.supervisors { ids.append(await supervisor.enclaveProcessID) }
            return ids
        }
    }

    /// The TCP address clients connect to, once listening.
    public var listeningAddress: SocketAddress? { self.lifecycle.withLockedValue { $0.listener?.localAddress } }

    /// The TCP port clients connect to, once listening (useful with port 0).
    public var listeningPort: Int? { self.listeningAddress?.port }

    /// The private Unix socket of the enclave, once started.
    public var enclaveSocketPath: String? { get async { await self.supervisor.enclaveSocketPath } }

    /// The enclave's private control socket (Health, Shutdown), when it has one; never relayed to clients.
    public var enclaveControlSocketPath: String? { get async { await self.supervisor.enclaveControlSocketPath } }

    /// The process id of the launched enclave, while it runs.
    public var enclaveProcessID: Int32? { get async { await self.supervisor.enclaveProcessID } }

    /// Whether the enclave waited for its model key (`STATE_WAITING_FOR_KEY`) rather than being ready when it was
    /// last (re)started; only with ``HostBridgeConfiguration/serveWhileWaitingForKey``.
    public var enclaveStartedWaitingForKey: Bool {
        get async {
            for supervisor in self.supervisors where await supervisor.startedWaitingForKey { return true }
            return false
        }
    }

    /// How many times the enclave was restarted after dying.
    public var enclaveRestartCount: Int { get async { await self.supervisor.restartCount } }

    /// The number of connected clients.
    public var clientCount: Int { self.state.clientCount }

    /// Starts the enclave, waits until it is ready, then listens for clients.
    ///
    /// - Throws: ``HostBridgeError`` (`launchFailed`, `enclaveExited`, `enclaveFailed`, `readyTimeout` with the
    ///   enclave's last stderr lines; `bindFailed`; `invalidConfiguration`; `invalidState` if already started).
    public func start() async throws {
        try self.configuration.validate()
        let canStart = self.lifecycle.withLockedValue { lifecycle -> Bool in
            guard lifecycle.phase == .idle else { return false }
            lifecycle.phase = .starting
            return true
        }
        guard canStart else {
            throw HostBridgeError(.invalidState, "the host bridge was already started")
        }
        // The port first: a port that is taken is reported before the enclave decrypts anything. Until the
        // enclave is ready the listener accepts nothing (the kernel queues early clients, up to the backlog), so a
        // client that connects early is served once the enclave is ready rather than refused.
        var bound: (any Channel)?
        do {
            let listener = try await self.bind()
            bound = listener
            self.lifecycle.withLockedValue { $0.listener = listener }
            // Every enclave starts at once; the bridge serves once all are ready (one that fails stops them all).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for supervisor in self.supervisors { group.addTask { try await supervisor.start() } }
                try await group.waitForAll()
            }
            try await listener.setOption(ChannelOptions.autoRead, value: true).get()
            listener.read()
            let proceed = self.lifecycle.withLockedValue { lifecycle -> Bool in
                guard lifecycle.phase == .starting else { return false }
                lifecycle.phase = .running
                return true
            }
            guard proceed else {   // shutdown() raced with start()
                throw HostBridgeError(.invalidState, "the host bridge was shut down while starting")
            }
            self.logger.info("host bridge listening", metadata: ["address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])
        } catch let error as HostBridgeError {
            try? await bound?.close()
            await self.finishStopping(enclave: true)
            throw error
        } catch {
            try? await bound?.close()
            await self.finishStopping(enclave: true)
            throw HostBridgeError(.invalidState, "the host bridge was shut down while starting (\(error))")
        }
    }

    /// Runs until shutdown: starts if needed, stops gracefully on SIGTERM/SIGINT (when
    /// ``HostBridgeConfiguration/handleSignals`` is set) or on ``shutdown()``, then returns.
    ///
    /// - Throws: what ``start()`` throws, or ``HostBridgeError`` `restartLimitReached` if the enclave kept dying.
    public func run() async throws {
        // Signals are watched from the start, so that SIGTERM during a slow enclave start still stops the child.
        let signals = self.configuration.handleSignals ? SignalWatcher(signals: [SIGTERM, SIGINT]) { [self] signal in
            self.logger.notice("received signal \(signal); shutting down")
            Task { await self.shutdown() }
        } : nil
        defer { signals?.cancel() }
        if self.lifecycle.withLockedValue({ $0.phase == .idle }) {
            do {
                try await self.start()
            } catch let error as HostBridgeError where error.code == .invalidState {
                if self.lifecycle.withLockedValue({ $0.shutdownRequested }) {   // stopped while starting
                    await self.waitUntilStopped()
                    return
                }
                throw error
            }
        }
        let watchdog = Task { [self] in
            // Turns an enclave that keeps failing into a shutdown with an error.
            while !Task.isCancelled {
                if self.lifecycle.withLockedValue({ $0.failure != nil }) {
                    await self.shutdown()
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await self.waitUntilStopped()
        watchdog.cancel()
        if let failure = self.lifecycle.withLockedValue({ $0.failure }) {
            throw failure
        }
    }

    /// Stops gracefully: stops accepting clients, refuses new requests, lets in-flight requests finish
    /// within the grace period, closes the clients, sends `Shutdown` to the enclave and waits for it.
    /// Safe to call more than once and from any task; returns when the bridge has stopped.
    public func shutdown() async {
        let (first, listener) = self.lifecycle.withLockedValue { lifecycle -> (Bool, (any Channel)?) in
            lifecycle.shutdownRequested = true
            switch lifecycle.phase {
            case .idle:
                lifecycle.phase = .stopped
                return (false, nil)
            case .starting, .running:
                lifecycle.phase = .stopping
                return (true, lifecycle.listener)
            case .stopping, .stopped:
                return (false, nil)
            }
        }
        guard first else {
            await self.waitUntilStopped()
            return
        }
        self.logger.info("host bridge shutting down", metadata: ["in-flight": "\(self.state.inFlight)"])
        self.state.beginDraining()
        try? await listener?.close()
        let deadline = ContinuousClock.now + self.configuration.shutdownGracePeriod
        while self.state.inFlight > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.state.inFlight > 0 {
            self.logger.warning("\(self.state.inFlight) request(s) still in flight after the grace period; closing them")
        }
        await self.finishStopping(enclave: true)
    }

    private func finishStopping(enclave: Bool) async {
        self.state.beginDraining()
        for client in self.state.clients {
            try? await client.close()
        }
        if enclave {
            await withTaskGroup(of: Void.self) { group in
                for supervisor in self.supervisors { group.addTask { await supervisor.stop() } }
            }
        }
        self.configuration.trafficRecorder?.close()
        let waiters = self.lifecycle.withLockedValue { lifecycle in
            lifecycle.phase = .stopped
            lifecycle.listener = nil
            defer { lifecycle.stopWaiters = [] }
            return lifecycle.stopWaiters
        }
        self.logger.info("host bridge stopped")
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the bridge has stopped (immediately if it never started or already stopped).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = self.lifecycle.withLockedValue { lifecycle -> Bool in
                guard lifecycle.phase != .stopped, lifecycle.phase != .idle else { return true }
                lifecycle.stopWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    private func bind() async throws -> any Channel {
        let state = self.state
        let limits = ClientRelayLimits(self.configuration)
        let router = self.configuration.router
        let maxConnections = self.configuration.maxConnections
        let recorder = self.configuration.trafficRecorder
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.autoRead, value: false)   // no accepts until the enclave is ready (start())
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard let id = state.register(channel, limit: maxConnections) else {
                    logger.warning("refused a client connection: \(maxConnections) connections are open, the cap (raise --max-connections to allow more)",
                                   metadata: ["peer": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
                    // Closed once registered (closing before would fail the registration as an accept error).
                    channel.eventLoop.execute { channel.close(promise: nil) }
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                channel.closeFuture.whenComplete { _ in state.unregister(id) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let idle = ClientIdleHandler(timeout: limits.idleTimeout)
                    try sync.addHandler(idle)
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: limits.maxFrameBytes)))
                    try sync.addHandler(ClientRelayHandler(connectionID: id, state: state, limits: limits, router: router,
                                                           idle: idle, recorder: recorder, logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        do {
            return try await bootstrap.bind(host: self.configuration.listenHost, port: self.configuration.listenPort).get()
        } catch {
            let address = "\(self.configuration.listenHost):\(self.configuration.listenPort)"
            let cause: String
            if let io = error as? IOError {
                cause = io.errnoCode == EADDRINUSE ? "another process is already listening there"
                    : String(cString: strerror(io.errnoCode))
            } else {
                cause = "the address cannot be used (\(String(describing: error).prefix(120)))"
            }
            throw HostBridgeError(.bindFailed, "cannot listen on \(address): \(cause); pick another port with --listen "
                                      + "or stop the process using it")
        }
    }
}
