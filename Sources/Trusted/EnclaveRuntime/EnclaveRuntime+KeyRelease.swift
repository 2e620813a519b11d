import EnclavaCrypto
import EnclavaImage
import EnclavePlatform
import Logging

extension EnclaveRuntime {
    /// Obtains the DEK from `source` and ends in the one activation every source shares (``ModelActivation``):
    /// ``KeySource/sealedInImage`` unseals and loads now (the runtime is ready when this returns);
    /// ``KeySource/owner`` leaves the core in `waiting-for-key` until a `ProvisionKey` opens, matches the image's
    /// key commitment and loads; ``KeySource/broker`` waits the same way while the runtime asks the key broker
    /// (``releaseFromBroker(image:platform:options:activation:)``). For a released key (owner, broker) with
    /// `options.sealedState`, the sealed state this platform left after an earlier release is tried first (ready
    /// when it opens and matches), and every release afterwards replaces it: read from and written to a file
    /// (``startFromSealedState(path:image:platform:activation:)``), or offered and taken by the host over the control
    /// socket (``startFromOfferedState(image:platform:options:activation:)``, ``SealedStateExchange``).
    /// - Throws: ``RuntimeError`` naming what failed; the runtime is stopped first.
    func obtainKey(from source: KeySource, image: EnclaveImage, platform: any TEEPlatform, options: RuntimeOptions,
                   engine: (any InferenceEngine)?) async throws {
        let manifest = image.manifest
        logger.info("key source", metadata: ["source": "\(source.rawValue)", "release": "\(manifest.keys.release.rawValue)"])
        switch options.sealedState {
        case .file(let path) where source.waitsForKey:
            let fromState = makeActivation(image: image, platform: platform, options: options, engine: engine,
                                           released: false)
            if try await startFromSealedState(path: path, image: image, platform: platform, activation: fromState) { return }
        case .host where source.waitsForKey:
            // Waiting for the key first (Health says so, which is when the host offers), owner-provisionable or not.
            await core.awaitKey(makeActivation(image: image, platform: platform, options: options, engine: engine,
                                               released: true), ownerProvisions: source == .owner)
            let fromState = makeActivation(image: image, platform: platform, options: options, engine: engine,
                                           released: false)
            if try await startFromOfferedState(image: image, platform: platform, options: options, activation: fromState) { return }
            guard await core.state == .waitingForKey else { return }   // the owner provisioned meanwhile
        case .host, .file, nil:
            break
        }
        // From here on no offer is tried (a key sealed in the image, a file, no sealed state, or the offer was tried):
        // a host's offer is answered NOT_WAITING at once.
        await core.sealedStates.closeOffers()
        switch source {
        case .sealedInImage:
            let activation = makeActivation(image: image, platform: platform, options: options, engine: engine,
                                            released: false)
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
            await core.awaitKey(makeActivation(image: image, platform: platform, options: options, engine: engine,
                                               released: true))
            logger.notice("waiting for the model key: its owner releases it with `enclava provision` (GetEvidence, then ProvisionKey sealed to this enclave's attested key)",
                          metadata: ["model": "\(manifest.image.name)"])
        case .broker:
            await releaseFromBroker(image: image, platform: platform, options: options,
                                    activation: makeActivation(image: image, platform: platform, options: options,
                                                               engine: engine, released: true))
        }
    }

    /// DEK → decrypt → load for this image (the closure every key source hands its key to). With `released` (a key
    /// released after start, by the owner or a broker), a model that fails to load stops the runtime with
    /// ``exitFailure`` set, as a failed start would, and a model that loads leaves the key as sealed state for the
    /// next start when `options.sealedState` is set.
    func makeActivation(image: EnclaveImage, platform: any TEEPlatform, options: RuntimeOptions,
                        engine: (any InferenceEngine)?, released: Bool) -> ModelActivation {
        let logger = self.logger
        let stopsOnFailure = released
        let keeping = released ? options.sealedState : nil
        let exchange = core.sealedStates
        return ModelActivation(image: image, load: { [weak self] dek in
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
        }, activated: { dek in
            switch keeping {
            case .file(let path):
                Self.keepSealedState(dek, path: path, image: image, platform: platform, logger: logger)
            case .host:
                Self.keepSealedState(dek, exchange: exchange, image: image, platform: platform, logger: logger)
            case nil:
                break
            }
        })
    }
}
