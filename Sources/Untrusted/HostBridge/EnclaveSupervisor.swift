import EnclavaWire
import Foundation
import Logging
import NIOCore

/// Owns the enclave: launches it on a private socket, waits for `Health` = ready, watches it, restarts
/// it with exponential backoff when it dies, and stops it (`Shutdown`, then signals) at the end.
///
/// Host-control calls (`Health` polls, `Shutdown`) travel on the enclave's private control socket when the
/// launch has one (``EnclaveLaunchConfiguration/controlPlaceholder``); client connections never reach it.
actor EnclaveSupervisor {
    /// The bridge's configuration, with ``HostBridgeConfiguration/enclave`` set to this supervisor's enclave.
    let configuration: HostBridgeConfiguration
    let state: BridgeState
    /// Which of the bridge's routes (enclaves) this supervisor owns.
    let route: Int
    /// Where the host keeps this enclave's sealed state (its route's ``HostBridgeConfiguration/ModelRoute/sealedStateFile``).
    var sealedStateFile: String? { self.configuration.routes.first?.sealedStateFile }
    let group: any EventLoopGroup
    let logger: Logger
    private let onGiveUp: @Sendable (HostBridgeError) -> Void

    private var socketDirectory: String?
    private var socketPath: String?
    private var controlSocketPath: String?
    var attachMonitor: Task<Void, Never>?
    /// The enclave loaded into this process (``HostBridgeConfiguration/Enclave/ocall(_:)``).
    var ocallEnclave: OcallEnclave?
    private var keyBrokerForwarder: KeyBrokerForwarder?
    /// Takes each new sealed state from the running enclave (``HostBridgeConfiguration/sealedStateFile``).
    private var sealedStateTaker: Task<Void, Never>?
    private var process: EnclaveProcess?
    private var monitor: Task<Void, Never>?
    private(set) var stopping = false
    private(set) var restartCount = 0
    /// Whether the enclave reported `STATE_WAITING_FOR_KEY` (rather than ready) when it was last (re)started.
    var startedWaitingForKey = false
    private var consecutiveFailures = 0
    private var stopTask: Task<Void, Never>?

    /// Creates the supervisor of route `route` of `configuration` (each enclave of a multi-model bridge has its own).
    init(configuration: HostBridgeConfiguration, route: Int = 0, state: BridgeState, group: any EventLoopGroup, logger: Logger,
         onGiveUp: @escaping @Sendable (HostBridgeError) -> Void) {
        var own = configuration
        own.routes = [configuration.routes[route]]
        self.configuration = own
        self.route = route
        self.state = state
        self.group = group
        var logger = logger
        if configuration.routes.count > 1, let name = configuration.routes[route].name { logger[metadataKey: "model"] = "\(name)" }
        self.logger = logger
        self.onGiveUp = onGiveUp
    }

    /// Whether this supervisor's enclave can take connections (what the relay reads).
    var availability: EnclaveAvailability {
        get { self.state.availability(of: self.route) }
        set { self.state.setAvailability(newValue, of: self.route) }
    }

    /// The socket the enclave listens on (once started).
    var enclaveSocketPath: String? { self.socketPath }

    /// The enclave's private control socket, when it has one.
    var enclaveControlSocketPath: String? { self.controlSocketPath }

    /// The running child's process id, if the bridge launched one.
    var enclaveProcessID: Int32? { self.process.flatMap { $0.hasExited ? nil : $0.pid } }

    /// Launches (or attaches to) the enclave and returns once it is ready.
    ///
    /// - Throws: ``HostBridgeError``: `launchFailed`, `enclaveExited`, `enclaveFailed` or `readyTimeout`,
    ///   with the enclave's last stderr lines.
    func start() async throws {
        switch self.configuration.enclave {
        case .attach(let endpoint, _, let controlEndpoint):
            if case .unix(let path) = endpoint { self.socketPath = path }
            if case .unix(let path) = controlEndpoint { self.controlSocketPath = path }
            if let broker = self.configuration.keyBroker {
                // Listening first: an enclave whose key comes from the broker is asking already.
                self.keyBrokerForwarder = try await KeyBrokerForwarder.start(
                    listen: Self.guestInitiatedListen(for: endpoint, port: self.configuration.keyBrokerVsockPort),
                    host: broker.host, port: broker.port, maxConnections: self.configuration.maxKeyBrokerConnections,
                    recorder: self.configuration.trafficRecorder, group: self.group, logger: self.logger)
            }
            let reported = try await self.waitUntilReady(endpoint: controlEndpoint ?? endpoint, process: nil)
            self.startedWaitingForKey = reported == .waitingForKey
            self.availability = .ready(endpoint: endpoint)
            self.logger.info("the attached enclave is ready", metadata: ["enclave": "\(endpoint)"])
            self.watchAttached(endpoint: endpoint, health: controlEndpoint ?? endpoint)
        case .ocall(let ocall):
            try await self.loadInProcess(ocall)
        case .launch(let launch):
            let directory = try Self.makePrivateDirectory(parent: launch.socketDirectoryParent)
            self.socketDirectory = directory
            let socketPath = directory + "/enclave.sock"
            self.socketPath = socketPath
            if launch.hasControlSocket { self.controlSocketPath = directory + "/control.sock" }
            if let broker = self.configuration.keyBroker {
                // Listening before the enclave starts: a broker release happens during its start.
                self.keyBrokerForwarder = try await KeyBrokerForwarder.start(
                    socketPath: directory + "/keybroker.sock", host: broker.host, port: broker.port,
                    maxConnections: self.configuration.maxKeyBrokerConnections,
                    recorder: self.configuration.trafficRecorder, group: self.group, logger: self.logger)
            }
            let process = try await self.launchAndWait(launch, socketPath: socketPath)
            self.watch(process, readyAt: .now)
        }
    }

    /// Where an attached enclave's own connections to host vsock port `port` arrive: on `UDS_PATH_<port>` for a
    /// hybrid-vsock VMM (Firecracker's documented convention, which a `unix:` attach follows too), on the vsock port
    /// itself (from the enclave's CID only) for AF_VSOCK.
    static func guestInitiatedListen(for endpoint: TTRPCEndpoint, port: UInt32) throws -> KeyBrokerForwarder.Listen {
        switch endpoint {
        case .hvsock(let path, _), .unix(let path): return .unix(path: "\(path)_\(port)")
        case .vsock(let cid, _): return .vsock(port: port, peerCID: cid)
        case .tcp: throw HostBridgeError(.invalidConfiguration, "an enclave attached over TCP cannot reach a key broker through the bridge; attach it over vsock, hvsock or unix")
        }
    }

    private func launchAndWait(_ launch: EnclaveLaunchConfiguration, socketPath: String) async throws -> EnclaveProcess {
        try? FileManager.default.removeItem(atPath: socketPath)
        if let control = self.controlSocketPath { try? FileManager.default.removeItem(atPath: control) }
        let arguments = launch.resolvedArguments(socketPath: socketPath, controlSocketPath: self.controlSocketPath ?? "",
                                                 keyBrokerSocketPath: self.keyBrokerForwarder?.socketPath ?? "")
        self.logger.info("launching the enclave",
                         metadata: ["command": "\(([launch.executablePath] + arguments).joined(separator: " "))"])
        let process = try await EnclaveProcess.launch(executablePath: launch.executablePath, arguments: arguments,
                                                environment: launch.environment, logger: self.logger)
        self.process = process
        var reported: Enclava_V1_HealthResponse.State
        do {
            reported = try await self.waitUntilReady(endpoint: .unix(self.controlSocketPath ?? socketPath), process: process)
        } catch {
            await self.terminate(process, grace: .zero)   // it never became ready: no Shutdown to wait for
            throw error
        }
        if let path = self.sealedStateFile, let control = self.controlSocketPath {
            let file = KeptSealedState(path: path)
            if reported == .waitingForKey, await self.offerSealedState(file, control: .unix(control)) { reported = .ready }
            self.sealedStateTaker?.cancel()
            self.sealedStateTaker = self.keepTakingSealedState(file, control: .unix(control))
        }
        self.startedWaitingForKey = reported == .waitingForKey
        self.availability = .ready(endpoint: .unix(socketPath))
        if reported == .waitingForKey, let broker = self.configuration.keyBroker {
            self.logger.notice("the enclave is waiting for its model key: it asks the key broker at \(broker.host):\(broker.port) through the forwarding socket; relaying GetEvidence and Health to it meanwhile",
                               metadata: ["pid": "\(process.pid)", "socket": "\(socketPath)"])
        } else if reported == .waitingForKey {
            self.logger.notice("the enclave is waiting for its model key: relaying GetEvidence, ProvisionKey and Health to it (its owner runs `enclava provision`)",
                               metadata: ["pid": "\(process.pid)", "socket": "\(socketPath)"])
        } else {
            self.logger.info("the enclave is ready", metadata: ["pid": "\(process.pid)", "socket": "\(socketPath)"])
        }
        return process
    }

    private func watch(_ process: EnclaveProcess, readyAt: ContinuousClock.Instant) {
        self.monitor = Task { [weak self] in
            await process.waitForExit()
            await self?.enclaveExited(process, readyAt: readyAt)
        }
    }

    private func enclaveExited(_ process: EnclaveProcess, readyAt: ContinuousClock.Instant) async {
        guard !self.stopping, case .launch(let launch) = self.configuration.enclave, let socketPath = self.socketPath else {
            return
        }
        let how = process.exitDescription ?? "exited"
        self.sealedStateTaker?.cancel()
        self.sealedStateTaker = nil
        self.availability = .down(reason: "the enclave \(how) and is restarting")
        self.logger.error("the enclave \(how); restarting it",
                          metadata: ["stderr": "\(process.stderrTail.suffix(5).joined(separator: " | "))"])
        let backoff = self.configuration.restartBackoff
        if ContinuousClock.now - readyAt >= backoff.resetAfter { self.consecutiveFailures = 0 }
        self.consecutiveFailures += 1
        while !self.stopping && !Task.isCancelled {
            if let limit = backoff.maxConsecutiveFailures, self.consecutiveFailures > limit {
                let error = HostBridgeError(.restartLimitReached,
                                            "the enclave failed \(self.consecutiveFailures) time(s) in a row; giving up "
                                                + "(see its stderr below, and fix the enclave or its image)",
                                            enclaveStderr: self.process?.stderrTail ?? [])
                self.logger.critical("\(error)")
                self.availability = .down(reason: "the enclave keeps failing")
                self.onGiveUp(error)
                return
            }
            let delay = backoff.delay(forAttempt: self.consecutiveFailures - 1)
            self.logger.info("restarting the enclave in \(delay)", metadata: ["attempt": "\(self.consecutiveFailures)"])
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            guard !self.stopping else { return }
            self.restartCount += 1
            do {
                let restarted = try await self.launchAndWait(launch, socketPath: socketPath)
                self.watch(restarted, readyAt: .now)
                return
            } catch {
                self.logger.error("the enclave restart failed: \(error)")
                self.consecutiveFailures += 1
            }
        }
    }

    /// Stops the enclave: `Shutdown` (launched, or attached with `sendShutdown`), then waits for the
    /// process within the grace period, then SIGTERM and SIGKILL. Removes the private socket directory.
    func stop() async {
        if let stopTask = self.stopTask {   // a stop is already under way: wait for it to finish
            await stopTask.value
            return
        }
        let task = Task { await self.performStop() }
        self.stopTask = task
        await task.value
    }

    private func performStop() async {
        self.stopping = true
        self.monitor?.cancel()
        self.attachMonitor?.cancel()
        self.availability = .down(reason: "the host bridge is shutting down")
        if let taker = self.sealedStateTaker, let path = self.sealedStateFile, let control = self.controlSocketPath,
           let process = self.process, !process.hasExited {
            // A blob sealed just now is kept before the enclave stops.
            taker.cancel()
            await self.takeSealedStateOnce(KeptSealedState(path: path), control: .unix(control))
        }
        // Shutdown goes to the private control socket; a launched enclave without one gets SIGTERM instead.
        let shutdownEndpoint: TTRPCEndpoint?
        switch self.configuration.enclave {
        case .launch:
            shutdownEndpoint = (self.process.map { !$0.hasExited } ?? false) ? self.controlSocketPath.map { .unix($0) } : nil
            if shutdownEndpoint == nil, let process = self.process, !process.hasExited {
                self.logger.info("the enclave has no control socket; stopping it with SIGTERM", metadata: ["pid": "\(process.pid)"])
                process.send(signal: SIGTERM)
            }
        case .attach(let endpoint, let send, let controlEndpoint):
            shutdownEndpoint = send ? (controlEndpoint ?? endpoint) : nil
        case .ocall:
            shutdownEndpoint = nil
            await self.unloadInProcess()
        }
        if let shutdownEndpoint {
            do {
                let client = try await TTRPCClient.connect(to: shutdownEndpoint, group: self.group, connectTimeout: .seconds(2))
                _ = try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self,
                                          timeout: .seconds(5))
                await client.close()
                self.logger.info("the enclave acknowledged Shutdown")
            } catch {
                self.logger.warning("Shutdown was not acknowledged: \(error)")
            }
        }
        if let process = self.process {
            await self.terminate(process, grace: self.configuration.shutdownGracePeriod)
            self.logger.info("the enclave \(process.exitDescription ?? "is gone")", metadata: ["pid": "\(process.pid)"])
        }
        await self.keyBrokerForwarder?.close()
        self.sealedStateTaker?.cancel()
        if let directory = self.socketDirectory {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Waits for a voluntary exit, then SIGTERM, then SIGKILL.
    func terminate(_ process: EnclaveProcess, grace: Duration) async {
        if await process.waitForExit(timeout: grace) { return }
        self.logger.notice("the enclave did not exit; sending SIGTERM", metadata: ["pid": "\(process.pid)"])
        process.send(signal: SIGTERM)
        if await process.waitForExit(timeout: .seconds(3)) { return }
        self.logger.warning("the enclave ignored SIGTERM; sending SIGKILL", metadata: ["pid": "\(process.pid)"])
        process.send(signal: SIGKILL)
        _ = await process.waitForExit(timeout: .seconds(3))
    }

    /// A fresh directory only this user can enter (mkdtemp creates it 0700).
    static func makePrivateDirectory(parent: String) throws -> String {
        var template = Array("\(parent)/enclava-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw HostBridgeError(.launchFailed,
                                  "cannot create a private socket directory in \(parent): \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
