import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import EnclavePlatform
import EnclaveSealing
import Foundation
import Logging
import NIOCore
import NIOPosix

/// The running enclave: platform, image, sealed model, ttrpc server and execution loop (DESIGN.md §5).
///
/// ``start(options:platform:engine:group:logger:)`` brings it from `starting` through `loading` to `ready` —
/// or, when the image's key is released after start (``KeySource/owner``), to `waiting-for-key` — or throws a
/// ``RuntimeError`` whose message is the one line the process prints before it exits non-zero. A model that
/// fails to load after its key was released stops the runtime with ``exitFailure`` set.
/// Clients reach it on `options.listen`; the host that launched it controls it on `options.control` (a
/// second, private socket: the only place Shutdown is accepted). A Shutdown call there answers, refuses new
/// requests, finishes the ones in flight, closes both servers and resumes ``waitUntilStopped()``.
public actor EnclaveRuntime {
    /// The request logic (exposed for tests and for the tool's logging).
    public nonisolated let core: EnclaveCore
    /// Where the server listens.
    public nonisolated let listenAddress: RuntimeOptions.ListenAddress
    let logger: Logger
    private var server: TTRPCServer?
    private var controlServer: TTRPCServer?
    private var stopping = false
    private var stopped = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// The background release of a key the enclave asks for itself (``KeySource/broker``); cancelled at shutdown.
    private var keyRelease: Task<Void, Never>?
    /// Why the runtime stopped on its own after start (a model that failed to load after its key was released);
    /// nil after a requested stop. The process exits non-zero with this message.
    public private(set) var exitFailure: RuntimeError?

    init(core: EnclaveCore, listenAddress: RuntimeOptions.ListenAddress, logger: Logger) {
        self.core = core
        self.listenAddress = listenAddress
        self.logger = logger
    }

    /// Starts an enclave.
    /// - Parameters:
    ///   - options: the command-line options.
    ///   - platform: the TEE platform; nil builds the one `options.backend` names (for `sim`: a
    ///     ``SimPlatform`` under `options.simHome` measuring this executable). Tests inject their own.
    ///   - engine: replaces the image's model after it has been loaded and checked (tests only: a model
    ///     double that blocks, to fill the queue).
    ///   - group: the event loops of the server.
    ///   - logger: where to log (never secrets).
    /// - Throws: ``RuntimeError`` naming the first thing that failed.
    public static func start(options: RuntimeOptions, platform: (any TEEPlatform)? = nil,
                             engine: (any InferenceEngine)? = nil,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger) async throws -> EnclaveRuntime {
        let (platform, core, image, keySource) = try await prepare(options: options, platform: platform, logger: logger)
        let manifest = image.manifest

        let runtime = EnclaveRuntime(core: core, listenAddress: options.listen, logger: logger)
        let handler = EnclaveRequestHandler(core: core, channel: .client)
        let server = try await bind(options.listen, handler: handler, maxFrameBytes: manifest.runtime.maxFrameBytes,
                                    group: group, logger: logger)
        await runtime.setServer(server)
        logger.info("listening", metadata: ["listen": "\(options.listen)"])
        if case .tcp = options.listen {
            logger.warning("--listen tcp: is for tests; inside a TEE listen on vsock:PORT (or unix:PATH under enclava serve)")
        }
        if let control = options.control {
            let controlHandler = EnclaveRequestHandler(core: core, channel: .control) { [weak runtime] in
                guard let runtime else { return }
                Task { await runtime.shutdown() }
            }
            let controlServer: TTRPCServer
            do {
                controlServer = try await bind(control, handler: controlHandler,
                                               maxFrameBytes: manifest.runtime.maxFrameBytes, group: group, logger: logger)
            } catch {
                await server.close()
                throw error
            }
            await runtime.setControlServer(controlServer)
            if case .unix(let path) = control, chmod(path, 0o600) != 0 {
                logger.warning("cannot make the control socket owner-only; keep it in a private directory",
                               metadata: ["control": "\(control)"])
            }
            logger.info("control socket listening", metadata: ["control": "\(control)"])
        }

        try await runtime.obtainKey(from: keySource, image: image, platform: platform, options: options, engine: engine)
        return runtime
    }

    /// Stops the enclave: refuses new requests, finishes queued ones, closes the server. Idempotent.
    /// - Parameter delay: time given to the answers already written (the Shutdown answer, in-flight
    ///   results) to reach the socket before connections close.
    public func shutdown(delay: Duration = .milliseconds(50)) async {
        guard !stopping else { return await waitUntilStopped() }
        stopping = true
        logger.info("shutting down")
        keyRelease?.cancel()
        await core.sealedStates.finish()
        _ = await core.beginShutdown()
        if delay > .zero { try? await Task.sleep(for: delay) }
        await core.stop()
        if delay > .zero { try? await Task.sleep(for: delay) }
        await server?.close()
        server = nil
        await controlServer?.close()
        controlServer = nil
        stopped = true
        logger.info("stopped")
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once the enclave has stopped (after a Shutdown call or ``shutdown(delay:)``).
    public func waitUntilStopped() async {
        if stopped { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Records why the runtime stops on its own (see ``exitFailure``).
    func setExitFailure(_ failure: RuntimeError) {
        if exitFailure == nil { exitFailure = failure }
    }

    /// Keeps the background key release, to cancel it at shutdown.
    func setKeyRelease(_ task: Task<Void, Never>) {
        keyRelease = task
    }

    private func setServer(_ server: TTRPCServer) {
        self.server = server
    }

    private func setControlServer(_ server: TTRPCServer) {
        self.controlServer = server
    }

    private static func bind(_ address: RuntimeOptions.ListenAddress, handler: EnclaveRequestHandler, maxFrameBytes: Int,
                             group: any EventLoopGroup, logger: Logger) async throws -> TTRPCServer {
        do {
            switch address {
            case .unix(let path):
                return try await TTRPCServer.bind(unixPath: path, handler: handler, maxFrameBytes: maxFrameBytes,
                                                  group: group, logger: logger)
            case .vsock(let port):
                return try await TTRPCServer.bind(vsockPort: port, handler: handler, maxFrameBytes: maxFrameBytes,
                                                  group: group, logger: logger)
            case .tcp(let host, let port):
                return try await TTRPCServer.bind(host: host, port: port, handler: handler, maxFrameBytes: maxFrameBytes,
                                                  group: group, logger: logger)
            }
        } catch {
            throw RuntimeError(.listenFailed, "cannot listen on \(address): \(error)")
        }
    }

    /// What every start does before it serves (socket or edge): hardening, the platform, secret protection, the
    /// core, the verified image and its key source.
    /// - Throws: ``RuntimeError`` naming the first thing that failed.
    static func prepare(options: RuntimeOptions, platform: (any TEEPlatform)?, logger: Logger) async throws
        -> (platform: any TEEPlatform, core: EnclaveCore, image: EnclaveImage, keySource: KeySource) {
        if options.hardenProcess {
            for warning in ProcessHardening.apply() { logger.warning("\(warning)") }
        }
        let platform = try platform ?? makePlatform(options)
        try protectSecrets(options: options, platform: platform, logger: logger)
        logger.info("platform ready", metadata: ["backend": "\(platform.backend)",
                                                 "measurement": "\(hex(platform.measurement))",
                                                 "simulated": "\(platform.isSimulated)"])
        let core = EnclaveCore(platform: platform, sessionLimits: options.sessionLimits)
        await core.setAllowUnlockedMemory(options.allowUnlockedMemory)
        let image = try ModelLoader.openImage(path: options.imagePath, signerFingerprint: options.signerFingerprint)
        logger.info("image verified", metadata: ["image": "\(image.manifest.image.name) \(image.manifest.image.version)",
                                                 "manifest_digest": "\(hex(image.manifestDigest))",
                                                 "signer": "\(image.signerFingerprint)"])
        if options.signerFingerprint == nil {
            logger.warning("no --signer-fingerprint given: any signer whose signature verifies is accepted")
        }
        let keySource = try KeySource.choose(for: image)
        try requireBroker(for: keySource, options: options)
        return (platform, core, image, keySource)
    }

    private static func makePlatform(_ options: RuntimeOptions) throws -> any TEEPlatform {
        switch options.backend {
        case .sim:
            do {
                return try SimPlatform(home: options.simHome, format: options.simFormat)
            } catch {
                throw RuntimeError(.platformUnavailable, "the simulated platform under \(options.simHome) "
                                   + "is not usable: \(error)")
            }
        }
    }
}

/// Lower-case hex, for logs of public values (measurements, digests).
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let text = String(byte, radix: 16)
        return byte < 16 ? "0" + text : text
    }.joined()
}
