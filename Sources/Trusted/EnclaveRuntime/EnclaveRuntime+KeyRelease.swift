import EnclavaCrypto
import EnclavaImage
import EnclavePlatform
import Logging

extension EnclaveRuntime {
    /// Refuses, before anything is bound, a key source this runtime cannot use yet.
    /// - Throws: ``RuntimeError`` `.keyReleaseUnsupported` for ``KeySource/broker``.
    static func refuseUnsupported(_ source: KeySource) throws {
        // ISSUE 10 (broker): the enclave-side RCAR client plugs in here — wait in `waiting-for-key` like `.owner`,
        // run request → challenge → attestation → response through the bridge, then `core.activate(dek:with:)`.
        guard source != .broker else {
            throw RuntimeError(.keyReleaseUnsupported, "the image's key is released by a key broker ([keys] release = "
                               + "\"broker\"), which this runtime cannot ask yet; package it with release = \"owner\" and "
                               + "release the key with `enclava provision`, or with `--seal-for sim` for local testing")
        }
    }

    /// Obtains the DEK from `source` and ends in the one activation every source shares (``ModelActivation``):
    /// ``KeySource/sealedInImage`` unseals and loads now (the runtime is ready when this returns);
    /// ``KeySource/owner`` leaves the core in `waiting-for-key` until a `ProvisionKey` opens, matches the image's
    /// key commitment and loads.
    /// - Throws: ``RuntimeError`` naming what failed; the runtime is stopped first.
    func obtainKey(from source: KeySource, image: EnclaveImage, platform: any TEEPlatform, options: RuntimeOptions,
                   engine: (any InferenceEngine)?) async throws {
        let manifest = image.manifest
        logger.info("key source", metadata: ["source": "\(source.rawValue)", "release": "\(manifest.keys.release.rawValue)"])
        // ISSUE 10 (sealed state): a DEK this platform sealed after an earlier release is tried here, before
        // `source`, falling back to it when the blob no longer opens; it ends in `core.activate` like the others.
        switch source {
        case .sealedInImage:
            let activation = makeActivation(image: image, options: options, engine: engine, stopsOnFailure: false)
            let failure: RuntimeError?
            do {
                let dek = try ModelLoader.unsealDEK(image: image, platform: platform)
                failure = await core.activate(dek: dek, with: activation)
            } catch let error as RuntimeError {
                await core.failed(error.message)
                failure = error
            }
            if let failure {
                logger.error("startup failed", metadata: ["reason": "\(failure.message)"])
                await shutdown(delay: .zero)
                throw failure
            }
            logger.info("ready", metadata: ["model": "\(manifest.image.name)", "pipeline": "\(manifest.pipeline.kind.rawValue)",
                                            "threads": "\(manifest.runtime.threads)",
                                            "max_queue": "\(manifest.runtime.maxQueue)"])
        case .owner:
            await core.awaitKey(makeActivation(image: image, options: options, engine: engine, stopsOnFailure: true))
            logger.notice("waiting for the model key: its owner releases it with `enclava provision` (GetEvidence, then ProvisionKey sealed to this enclave's attested key)",
                          metadata: ["model": "\(manifest.image.name)"])
        case .broker:
            try Self.refuseUnsupported(source)
        }
    }

    /// DEK → decrypt → load for this image (the closure every key source hands its key to). With
    /// `stopsOnFailure` (a key released after start), a model that fails to load stops the runtime with
    /// ``exitFailure`` set, as a failed start would.
    private func makeActivation(image: EnclaveImage, options: RuntimeOptions, engine: (any InferenceEngine)?,
                                stopsOnFailure: Bool) -> ModelActivation {
        let logger = self.logger
        return ModelActivation(image: image) { [weak self] dek in
            do {
                var serving = try ModelLoader.load(image: image, dek: dek, lockPolicy: options.memoryLockPolicy,
                                                   tensorLimits: options.tensorLimits, logger: logger)
                if let engine { serving = serving.replacing(engine: engine) }
                if stopsOnFailure {
                    logger.info("ready: the released model key matched and the model is loaded",
                                metadata: ["model": "\(image.manifest.image.name)"])
                }
                return serving
            } catch {
                let failure = error as? RuntimeError ?? RuntimeError(.modelInvalid, "cannot load the model: \(error)")
                if stopsOnFailure, let runtime = self {
                    logger.error("startup failed after the key release", metadata: ["reason": "\(failure.message)"])
                    Task {
                        await runtime.setExitFailure(failure)
                        await runtime.shutdown()   // the default delay lets the ProvisionKey answer go out first
                    }
                }
                throw failure
            }
        }
    }
}
