import Foundation
import EnclavaWire

/// Everything `enclava serve` needs: where to listen, how to start the enclave, limits and timeouts.
public struct HostBridgeConfiguration: Sendable {
    /// How the bridge reaches its enclave.
    public enum Enclave: Sendable {
        /// Launch the enclave as a child process on a private Unix socket, and restart it if it dies.
        case launch(EnclaveLaunchConfiguration)
        /// Relay to an enclave someone else launched (nitro-cli, QEMU, libvirt, Kata, Firecracker) that listens
        /// at `endpoint` (`vsock:CID:PORT`, `hvsock:UDS_PATH:PORT`, `unix:PATH`). It is not launched or
        /// restarted here: when it stops answering the bridge says so, polls it with a backoff and relays again
        /// once it is ready. `sendShutdown` says whether the bridge sends `Shutdown` to it when the bridge stops,
        /// on `controlEndpoint` (the enclave's private control socket) or, when that is nil, on `endpoint`.
        case attach(endpoint: TTRPCEndpoint, sendShutdown: Bool = false, controlEndpoint: TTRPCEndpoint? = nil)
        /// Load the enclave into this process through the ocall edge (`ocall:LIB`, issue 11) and relay each client
        /// frame as one ecall. Not restarted: an enclave that fails takes the bridge down with it.
        case ocall(OcallEnclaveConfiguration)

        /// Attaches to an enclave listening on a Unix socket.
        public static func attach(socketPath: String, sendShutdown: Bool = false, controlSocketPath: String? = nil) -> Enclave {
            .attach(endpoint: .unix(socketPath), sendShutdown: sendShutdown, controlEndpoint: controlSocketPath.map { .unix($0) })
        }
    }

    /// One enclave of the bridge and the model name clients call it by (its image's `[image] name`).
    public struct ModelRoute: Sendable {
        /// The image's `[image] name`; `nil` only for a single enclave whose image the bridge does not know.
        public var name: String?
        /// How to reach this enclave.
        public var enclave: Enclave
        /// Where the host keeps this launched enclave's sealed state (`enclava serve --state-dir`; the enclave runs
        /// with `--sealed-state host`): offered to it at each start over the control socket, replaced by each new
        /// one it seals after a key release. Nil: none kept.
        public var sealedStateFile: String?

        /// Creates a route.
        public init(name: String?, enclave: Enclave) {
            self.name = name
            self.enclave = enclave
        }
    }

    /// The most enclaves one bridge serves (`--image` given more often is refused).
    public static let maxModels = 16

    /// The TCP address clients connect to, e.g. `127.0.0.1`.
    public var listenHost: String
    /// The TCP port clients connect to; 0 lets the system choose (see ``HostBridgeServer/listeningPort``).
    public var listenPort: Int
    /// The enclaves served, each with its own supervisor and process; a client call goes to the one its
    /// `enclava-model` metadata names (``ModelRouter``). Every limit below applies to each enclave, and per
    /// client connection over all of them (one link per client per enclave).
    public var routes: [ModelRoute]
    /// How to reach the (first) enclave.
    public var enclave: Enclave {
        get { self.routes[0].enclave }
        set { self.routes[0].enclave = newValue }
    }
    /// How long the enclave may take to answer `Health` with `STATE_READY` after a launch.
    public var readyTimeout: Duration = .seconds(60)
    /// How often `Health` is polled while waiting for the enclave.
    public var healthPollInterval: Duration = .milliseconds(100)
    /// How often an attached enclave that is serving is asked for `Health`, to notice a restart.
    public var attachedHealthInterval: Duration = .seconds(1)
    /// The longest wait between polls of an attached enclave that stopped answering.
    public var attachedReconnectMaxDelay: Duration = .seconds(5)
    /// How long one connection attempt to the enclave may take (for `hvsock:`, the retries with growing
    /// deadlines happen within it; `--connect-timeout`).
    public var connectTimeout: Duration = .seconds(30)
    /// Also start relaying when the enclave reports `STATE_WAITING_FOR_KEY` (owner key release).
    public var serveWhileWaitingForKey = false
    /// The largest frame payload relayed in either direction; larger ones are answered `RESOURCE_EXHAUSTED`.
    public var maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes
    /// Delays between restarts of a launched enclave that died.
    public var restartBackoff = RestartBackoff()
    /// How long in-flight requests may take to finish when the bridge stops, and how long the enclave
    /// may take to exit after `Shutdown`.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// Receives every byte relayed, in each direction (for audits and tests); `nil` records nothing.
    public var trafficRecorder: (any TrafficRecorder)?
    /// Whether ``HostBridgeServer/run()`` stops gracefully on SIGTERM and SIGINT.
    public var handleSignals = true
    /// Log one line per relayed call (method, bytes each way, status, milliseconds; never payload data).
    public var logRequests = false
    /// Client connections open at once; one more is closed at once, with a log line (`--max-connections`).
    public var maxConnections = 256
    /// A client connection with no call in flight that sends and receives nothing for this long is closed
    /// (`--idle-timeout`).
    public var idleTimeout: Duration = .seconds(300)
    /// Request bytes (frame headers and payloads) one client connection may have relayed and unanswered; a
    /// request over it is answered `RESOURCE_EXHAUSTED` (`INFLIGHT_BYTES_EXCEEDED`) and not relayed
    /// (`--max-inflight-bytes`). At least one full frame.
    public var maxInFlightBytesPerConnection = 64 << 20
    /// Requests of one client held while its link to the enclave is being (re)connected; one more is
    /// answered `UNAVAILABLE` (`RECONNECT_QUEUE_FULL`) and not relayed (`--max-queued-requests`).
    public var maxQueuedRequestsPerConnection = 64
    /// The key broker the enclave may reach (`--key-broker HOST:PORT`): the bridge forwards the enclave's connections
    /// on its ``EnclaveLaunchConfiguration/keyBrokerPlaceholder`` socket (a launched enclave) or on
    /// ``keyBrokerVsockPort`` (an attached one) to this one address only. Nil: none.
    public var keyBroker: (host: String, port: Int)?
    /// The host vsock port an **attached** enclave dials to reach its key broker (`--key-broker-port`): its
    /// connections arrive on `UDS_PATH_<port>` (hvsock, unix) or on that AF_VSOCK port (vsock, from its CID only).
    public var keyBrokerVsockPort: UInt32 = 1025
    /// The single enclave's ``ModelRoute/sealedStateFile`` (a bridge serving one image).
    public var sealedStateFile: String? {
        get { routes.first?.sealedStateFile }
        set { if !routes.isEmpty { routes[0].sealedStateFile = newValue } }
    }
    /// Key broker connections forwarded at once, at most.
    public var maxKeyBrokerConnections = 8

    /// Creates a configuration with default limits and timeouts.
    ///
    /// - Parameters:
    ///   - listenHost: the TCP address to listen on.
    ///   - listenPort: the TCP port (0: any free port).
    ///   - enclave: how to reach the enclave.
    public init(listenHost: String = "127.0.0.1", listenPort: Int, enclave: Enclave) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.routes = [ModelRoute(name: nil, enclave: enclave)]
    }

    /// Creates a configuration that serves several enclaves, routed by model name.
    ///
    /// - Parameters:
    ///   - listenHost: the TCP address to listen on.
    ///   - listenPort: the TCP port (0: any free port).
    ///   - models: the enclaves and their names (1…``maxModels``, names distinct).
    public init(listenHost: String = "127.0.0.1", listenPort: Int, models: [ModelRoute]) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.routes = models
    }

    /// The router over the served names.
    public var router: ModelRouter { ModelRouter(names: self.routes.map(\.name)) }

    /// Checks values a user can get wrong.
    ///
    /// - Throws: ``HostBridgeError`` `invalidConfiguration` naming the value and the allowed range.
    public func validate() throws {
        guard (0...65535).contains(self.listenPort) else {
            throw HostBridgeError(.invalidConfiguration, "listen port must be 0…65535, got \(self.listenPort)")
        }
        guard self.maxFrameBytes > 0, self.maxFrameBytes <= WireLimits.maxEncodableFrameBytes else {
            throw HostBridgeError(.invalidConfiguration, "max frame bytes must be 1…\(WireLimits.maxEncodableFrameBytes), got \(self.maxFrameBytes)")
        }
        guard self.readyTimeout > .zero else {
            throw HostBridgeError(.invalidConfiguration, "the ready timeout must be positive")
        }
        guard (1...1_000_000).contains(self.maxConnections) else {
            throw HostBridgeError(.invalidConfiguration, "max connections must be 1…1000000, got \(self.maxConnections)")
        }
        guard self.idleTimeout > .zero else {
            throw HostBridgeError(.invalidConfiguration, "the idle timeout must be positive, got \(self.idleTimeout)")
        }
        let oneFrame = self.maxFrameBytes + WireLimits.headerByteCount
        guard self.maxInFlightBytesPerConnection >= oneFrame else {
            throw HostBridgeError(.invalidConfiguration,
                                  "max in-flight bytes per connection must hold at least one full frame "
                                      + "(\(oneFrame) bytes with max frame bytes \(self.maxFrameBytes)), got \(self.maxInFlightBytesPerConnection)")
        }
        guard (1...65536).contains(self.maxQueuedRequestsPerConnection) else {
            throw HostBridgeError(.invalidConfiguration,
                                  "max queued requests per connection must be 1…65536, got \(self.maxQueuedRequestsPerConnection)")
        }
        try self.validateRoutes()
        for route in self.routes {
            guard case .launch(let launch) = route.enclave else { continue }
            guard !launch.executablePath.isEmpty else {
                throw HostBridgeError(.invalidConfiguration, "the enclave executable path is empty")
            }
            guard launch.arguments.contains(where: { $0.contains(EnclaveLaunchConfiguration.socketPlaceholder) }) else {
                throw HostBridgeError(.invalidConfiguration,
                                      "no enclave argument contains \(EnclaveLaunchConfiguration.socketPlaceholder); "
                                          + "the enclave would not know where to listen (e.g. --listen unix:{socket})")
            }
        }
    }

    private func validateRoutes() throws {
        guard (1...Self.maxModels).contains(self.routes.count) else {
            throw HostBridgeError(.invalidConfiguration, "a bridge serves 1…\(Self.maxModels) enclaves, got \(self.routes.count)")
        }
        guard self.routes.count > 1 else { return }
        var seen = Set<String>()
        for route in self.routes {
            guard let name = route.name, !name.isEmpty, name.utf8.count <= ModelRouter.maxNameBytes else {
                throw HostBridgeError(.invalidConfiguration, "with several enclaves each needs a model name of "
                                          + "1…\(ModelRouter.maxNameBytes) bytes (its image's [image] name) for clients to call it by")
            }
            guard seen.insert(name).inserted else {
                throw HostBridgeError(.invalidConfiguration, "two enclaves are named `\(name)`; clients could not tell "
                                          + "them apart: give each image its own [image] name")
            }
        }
    }
}

/// How to start the enclave process.
public struct EnclaveLaunchConfiguration: Sendable {
    /// Replaced, in every argument, by the private Unix socket path the enclave must listen on for clients.
    public static let socketPlaceholder = "{socket}"
    /// Replaced, in every argument, by the path of the enclave's private control socket (Health, Shutdown),
    /// which only the bridge knows. Without it in the arguments, the bridge stops the enclave with SIGTERM.
    public static let controlPlaceholder = "{control}"
    /// Replaced, in every argument, by the path of the socket on which the bridge forwards the enclave's
    /// connections to the key broker (``HostBridgeConfiguration/keyBroker``), e.g. `--key-broker unix:{keybroker}`.
    public static let keyBrokerPlaceholder = "{keybroker}"

    /// The executable, e.g. the path of `enclava-runtime`.
    public var executablePath: String
    /// Its arguments; ``socketPlaceholder`` and ``controlPlaceholder`` are replaced by the socket paths.
    public var arguments: [String]
    /// The environment; `nil` inherits the bridge's.
    public var environment: [String: String]?
    /// Where the fresh 0700 directory holding the socket is created: `$TMPDIR` when it is an absolute path short
    /// enough for a socket inside (sun_path is 108 bytes), else `/tmp`.
    public var socketDirectoryParent = Self.defaultSocketDirectoryParent

    /// `$TMPDIR` (trailing `/` dropped) if absolute and at most 64 bytes, else `/tmp`.
    public static var defaultSocketDirectoryParent: String {
        var tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? ""
        while tmp.count > 1, tmp.hasSuffix("/") { tmp.removeLast() }
        return tmp.hasPrefix("/") && tmp.utf8.count <= 64 ? tmp : "/tmp"
    }

    /// Creates a launch configuration.
    ///
    /// - Parameters:
    ///   - executablePath: the program to run.
    ///   - arguments: its arguments, with ``socketPlaceholder`` where the socket path goes.
    ///   - environment: the environment (`nil`: inherit).
    public init(executablePath: String, arguments: [String], environment: [String: String]? = nil) {
        self.executablePath = executablePath
        self.arguments = arguments
        self.environment = environment
    }

    /// The `enclava-runtime` command line:
    /// `enclava-runtime --backend BACKEND --listen unix:{socket} --control unix:{control} --image IMAGE
    /// --exit-with-parent [extra…]` (the enclave's standard input is a lifeline pipe: it stops when the bridge dies).
    public static func runtime(executablePath: String, imagePath: String, backend: String = "sim",
                               extraArguments: [String] = [], environment: [String: String]? = nil)
        -> EnclaveLaunchConfiguration {
        EnclaveLaunchConfiguration(
            executablePath: executablePath,
            arguments: ["--backend", backend, "--listen", "unix:\(Self.socketPlaceholder)",
                        "--control", "unix:\(Self.controlPlaceholder)", "--image", imagePath, "--exit-with-parent"]
                + extraArguments,
            environment: environment)
    }

    /// Whether the enclave is given a control socket (some argument holds ``controlPlaceholder``).
    public var hasControlSocket: Bool { self.arguments.contains { $0.contains(Self.controlPlaceholder) } }

    /// The arguments with the socket paths filled in.
    public func resolvedArguments(socketPath: String, controlSocketPath: String = "", keyBrokerSocketPath: String = "")
        -> [String] {
        self.arguments.map {
            $0.replacingOccurrences(of: Self.socketPlaceholder, with: socketPath)
                .replacingOccurrences(of: Self.controlPlaceholder, with: controlSocketPath)
                .replacingOccurrences(of: Self.keyBrokerPlaceholder, with: keyBrokerSocketPath)
        }
    }
}

/// Exponential backoff between restarts of a dead enclave.
public struct RestartBackoff: Sendable {
    /// The delay before the first restart.
    public var initialDelay: Duration = .milliseconds(250)
    /// The longest delay.
    public var maximumDelay: Duration = .seconds(30)
    /// The factor applied per consecutive failure.
    public var multiplier = 2.0
    /// An enclave that stayed ready this long resets the backoff to ``initialDelay``.
    public var resetAfter: Duration = .seconds(60)
    /// Give up (and stop the bridge with an error) after this many consecutive failed restarts; `nil`: never.
    public var maxConsecutiveFailures: Int?

    /// Creates the default backoff (250 ms doubling up to 30 s).
    public init(initialDelay: Duration = .milliseconds(250), maximumDelay: Duration = .seconds(30),
                multiplier: Double = 2.0, resetAfter: Duration = .seconds(60), maxConsecutiveFailures: Int? = nil) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.resetAfter = resetAfter
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    /// The delay before restart number `attempt` (0 for the first).
    public func delay(forAttempt attempt: Int) -> Duration {
        var delay = self.initialDelay
        var step = 0
        while step < attempt, delay < self.maximumDelay {
            delay = delay * self.multiplier
            step += 1
        }
        return min(delay, self.maximumDelay)
    }
}
