import EnclavaImage
import EnclavaWire
import Foundation
import HostBridge

extension ServeCommand {
    /// One enclave of `enclava serve --image a.eimg --image b.eimg …`: its image and how the bridge launches it.
    struct ServedModel {
        /// The opened (signature-checked) image.
        let image: EnclaveImage
        /// The route: the image's `[image] name` and its launch.
        let route: HostBridgeConfiguration.ModelRoute
    }

    /// The enclaves of a multi-image serve, one per `--image`, each launched as today's single one (its own
    /// `enclava-runtime` process, private sockets, sealed state file and restarts), named by its `[image] name`.
    ///
    /// - Parameters:
    ///   - runtimePath: the `enclava-runtime` executable.
    ///   - sharedExtra: the runtime arguments every enclave gets (simulator home and format, key broker socket).
    ///   - attached: whether `--enclave` was given (several images cannot be attached to one address).
    /// - Throws: ``CLIError`` for two images of one name, an unreadable image, a signer that does not match, or
    ///   an in-flight budget smaller than one frame of some image.
    func modelRoutes(runtimePath: String, sharedExtra: [String], attached: Bool) throws -> [ServedModel] {
        guard !attached else {
            throw CLIError("--enclave attaches to one enclave; serve several models by launching them: --image a.eimg --image b.eimg (without --enclave)")
        }
        guard images.count <= HostBridgeConfiguration.maxModels else {
            throw CLIError("one bridge serves at most \(HostBridgeConfiguration.maxModels) images, got \(images.count); run another `enclava serve` for the rest")
        }
        var names: [String: String] = [:]
        return try images.map { path in
            try CLI.requireReadableFile(path, what: "image")
            let opened = try EnclaveImage.open(path: path)
            let name = opened.manifest.image.name
            if let other = names[name] {
                throw CLIError("\(other) and \(path) are both named `\(name)` ([image] name); clients pick a model by name, "
                               + "so give each image its own name and package it again")
            }
            names[name] = path
            guard name.utf8.count <= ModelRouter.maxNameBytes else {
                throw CLIError("\(path): the [image] name is \(name.utf8.count) bytes; a served model name is at most \(ModelRouter.maxNameBytes)")
            }
            let oneFrame = opened.manifest.runtime.maxFrameBytes + WireLimits.headerByteCount
            guard maxInflightBytes >= oneFrame else {
                throw CLIError("--max-inflight-bytes must hold at least one full frame of \(path) "
                               + "(\(oneFrame) bytes: its max_frame_bytes plus the 10-byte header), got \(maxInflightBytes)")
            }
            var extra = sharedExtra
            if let signerFingerprint { extra += ["--signer-fingerprint", try CLI.signerFingerprint(signerFingerprint, image: opened)] }
            var stateFile: String?
            if let stateDir {
                let directory = try SealedStateDirectory(path: stateDir, manifestDigest: opened.manifestDigest)
                extra += ["--sealed-state", "host"]   // the bridge offers and takes it over the control socket
                stateFile = directory.statePath
                CLI.note(directory.note(keys: opened.manifest.keys))
            }
            let imagePath = URL(fileURLWithPath: path).standardizedFileURL.path
            let launch = EnclaveLaunchConfiguration.runtime(executablePath: runtimePath, imagePath: imagePath, backend: backend,
                                                            extraArguments: extra)
            var route = HostBridgeConfiguration.ModelRoute(name: name, enclave: .launch(launch))
            route.sealedStateFile = stateFile
            return ServedModel(image: opened, route: route)
        }
    }
}
