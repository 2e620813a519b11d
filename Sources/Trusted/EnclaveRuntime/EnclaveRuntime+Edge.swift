import EnclavaWire
import EnclavePlatform
import EnclaveSealing
import Logging

extension EnclaveRuntime {
    /// Starts an enclave that serves no socket: its frames arrive through the in-process ocall edge
    /// (`CShims/CEnclaveEdge`, issue 11), each through an ``EnclaveFrameProcessor`` over the same
    /// ``EnclaveRequestHandler`` the socket servers use. Platform, image, key release and model loading are
    /// ``start(options:platform:engine:group:logger:)``'s; `options.listen` and `options.control` are not bound (the
    /// library's host chooses client and control connections per ecall instead).
    /// - Parameters:
    ///   - options: as for ``start(options:platform:engine:group:logger:)``; `imagePath` may be a `/proc/self/fd/N`
    ///     path of the sealed copy the edge made.
    ///   - platform: the TEE platform; nil builds the one `options.backend` names.
    ///   - logger: where to log (never secrets).
    /// - Throws: ``RuntimeError`` naming the first thing that failed.
    public static func startWithoutListening(options: RuntimeOptions, platform: (any TEEPlatform)? = nil,
                                             logger: Logger) async throws -> EnclaveRuntime {
        if options.hardenProcess {
            for warning in ProcessHardening.apply() { logger.warning("\(warning)") }
        }
        let platform = try platform ?? makeEdgePlatform(options)
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
            logger.warning("no signer fingerprint given: any signer whose signature verifies is accepted")
        }
        let keySource = try KeySource.choose(for: image)
        try requireBroker(for: keySource, options: options)
        let runtime = EnclaveRuntime(core: core, listenAddress: options.listen, logger: logger)
        try await runtime.obtainKey(from: keySource, image: image, platform: platform, options: options, engine: nil)
        return runtime
    }

    private static func makeEdgePlatform(_ options: RuntimeOptions) throws -> any TEEPlatform {
        switch options.backend {
        case .sim:
            do {
                return try SimPlatform(home: options.simHome, format: options.simFormat)
            } catch {
                throw RuntimeError(.platformUnavailable, "the simulated platform under \(options.simHome) is not usable: \(error)")
            }
        }
    }
}
