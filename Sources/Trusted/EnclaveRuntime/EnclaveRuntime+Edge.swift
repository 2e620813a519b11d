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
        let (platform, core, image, keySource) = try await prepare(options: options, platform: platform, logger: logger)
        let runtime = EnclaveRuntime(core: core, listenAddress: options.listen, logger: logger)
        try await runtime.obtainKey(from: keySource, image: image, platform: platform, options: options, engine: nil)
        return runtime
    }
}
