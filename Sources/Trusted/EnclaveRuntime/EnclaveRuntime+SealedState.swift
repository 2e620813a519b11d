import EnclavaCrypto
import EnclavaWire
import EnclavaImage
import EnclavePlatform
import EnclaveSealing
import Logging

/// Sealed restart in the runtime (DESIGN.md §7): the two call points of ``EnclaveSealing/SealedRestart``.
///
/// * At start, for an image whose key is released after start (owner, broker) and a `--sealed-state PATH`:
///   ``startFromSealedState(path:image:platform:activation:)`` opens the blob before the image's own key source.
///   A DEK that opens still passes the one key check every released key passes (``ModelActivation/checkKey``, the
///   signed header's key commitment) and the one activation; anything else (no file, a blob that does not open, a
///   platform without a sealing key) is one log line and the release goes ahead as if there were no state.
/// * After every successful release: ``keepSealedState(_:path:image:platform:logger:)`` seals the DEK to this
///   platform and atomically replaces the file. A failure to save is a log line, never a failed start: the next
///   start is a release again.
extension EnclaveRuntime {
    /// What a start did with the sealed state it found.
    struct SealedStart {
        /// True when the enclave is ready from it (no release needed).
        let ready: Bool
        /// The outcome for the host that offered it (`OfferSealedState`).
        let outcome: Enclava_V1_OfferSealedStateResponse.Outcome
        /// One line saying what happened.
        let message: String
    }

    /// Tries the sealed state at `path` (`--sealed-state PATH`); true when the enclave is ready from it.
    /// - Throws: as ``startFromSealedState(_:from:image:platform:activation:)``.
    func startFromSealedState(path: String, image: EnclaveImage, platform: any TEEPlatform,
                              activation: ModelActivation) async throws -> Bool {
        try await startFromSealedState(SealedRestart.openState(atPath: path, image: image, platform: platform),
                                       from: path, image: image, platform: platform, activation: activation).ready
    }

    /// Waits (at most `options.sealedStateOfferTimeout`) for the host's `OfferSealedState` and tries it
    /// (`--sealed-state host`); the offer is answered with what happened. True when the enclave is ready from it.
    /// - Throws: as ``startFromSealedState(_:from:image:platform:activation:)``.
    func startFromOfferedState(image: EnclaveImage, platform: any TEEPlatform, options: RuntimeOptions,
                               activation: ModelActivation) async throws -> Bool {
        let exchange = core.sealedStates
        logger.info("waiting for the host to offer its copy of the sealed state (control socket)",
                    metadata: ["wait": "\(options.sealedStateOfferTimeout)"])
        guard let offer = await exchange.awaitOffer(timeout: options.sealedStateOfferTimeout) else {
            logger.notice("the host offered no sealed state within \(options.sealedStateOfferTimeout): this start is a key release")
            return false
        }
        let opening: SealedRestart.Opening
        if offer.blob.isEmpty {
            opening = .absent
        } else {
            switch SealedRestart.openState(blob: offer.blob, image: image, platform: platform) {
            case .success(let dek): opening = .opened(dek)
            case .failure(let error): opening = .refused(error)
            }
        }
        do {
            let start = try await startFromSealedState(opening, from: "the host's copy", image: image, platform: platform,
                                                       activation: activation)
            await exchange.reply(start.outcome, start.message)
            return start.ready
        } catch {
            await exchange.reply(.refused, "the sealed state opened but the model did not load: \(error)")
            throw error
        }
    }

    /// Tries one sealed-state `opening` found at `place`.
    /// - Throws: ``RuntimeError`` when the key opened and matched but the model did not load (the runtime is
    ///   stopped first), as a failed start with a key sealed in the image would.
    func startFromSealedState(_ opening: SealedRestart.Opening, from place: String, image: EnclaveImage,
                              platform: any TEEPlatform, activation: ModelActivation) async throws -> SealedStart {
        let dek: SecureBytes
        switch opening {
        case .absent:
            logger.info("\(opening.logLine)", metadata: ["sealed_state": "\(place)"])
            return SealedStart(ready: false, outcome: .absent, message: opening.logLine)
        case .refused(let error) where error.code == .noSealingKey:
            logger.notice("\(opening.logLine)", metadata: ["sealed_state": "\(place)"])
            return SealedStart(ready: false, outcome: .noSealingKey, message: opening.logLine)
        case .refused(let error):
            logger.warning("\(opening.logLine)", metadata: ["sealed_state": "\(place)", "code": "\(error.code.rawValue)"])
            return SealedStart(ready: false, outcome: .refused, message: opening.logLine)
        case .opened(let opened):
            dek = opened
        }
        do {
            try activation.checkKey(dek)
        } catch {
            let line = "sealed state not used (\(Self.sealedKeyMismatch)); falling back to a key release, which replaces it"
            logger.warning("\(line)", metadata: ["sealed_state": "\(place)", "code": "\(Self.sealedKeyMismatch)"])
            return SealedStart(ready: false, outcome: .refused, message: line)
        }
        let state = await core.state
        guard state == .starting || state == .waitingForKey else {
            // The owner's key won the race (ProvisionKey while the offer was tried): nothing left to do.
            return SealedStart(ready: false, outcome: .notWaiting, message: "the enclave took its key another way meanwhile")
        }
        logger.info("\(opening.logLine)", metadata: ["sealed_state": "\(place)"])
        if let failure = await core.activate(dek: dek, with: activation) {
            logger.error("startup failed", metadata: ["reason": "\(failure.message)"])
            await shutdown(delay: .zero)
            throw failure
        }
        logger.info("ready: the model key came from this enclave's sealed state, with no owner or broker",
                    metadata: ["model": "\(image.manifest.image.name)", "sealed_state": "\(place)"])
        return SealedStart(ready: true, outcome: .opened, message: opening.logLine)
    }

    /// The log code of a sealed state that opened with this platform's key but holds another key than the image's
    /// commitment names (only a forged or corrupted writer could make one).
    static let sealedKeyMismatch = "SEALED_STATE_KEY_MISMATCH"

    /// Seals a released `dek` to `platform` for `image` and hands the blob to the host (``SealedStateExchange``,
    /// `--sealed-state host`), logging what happened. Never throws: a state that cannot be kept only means the next
    /// start is a release again.
    static func keepSealedState(_ dek: SecureBytes, exchange: SealedStateExchange, image: EnclaveImage,
                                platform: any TEEPlatform, logger: Logger) {
        do {
            let blob = try SealedRestart.makeState(dek: dek, image: image, platform: platform)   // while the key is here
            Task { await exchange.keep(blob) }
            logger.info("sealed state saved: the next start opens the model key with no owner or broker (handed to the host to keep)",
                        metadata: ["bytes": "\(blob.count)", "seal_to": "\(image.manifest.keys.effectiveSealTo)"])
        } catch let error as SealedStateError where error.code == .noSealingKey {
            logger.notice("\(error)")
        } catch {
            logger.warning("sealed state not saved (\(error)); the next start is a key release again")
        }
    }

    /// Seals a released `dek` to `platform` for `image` at `path` (atomic, 0600), logging what happened. Never
    /// throws: a state that cannot be kept only means the next start is a release again.
    static func keepSealedState(_ dek: SecureBytes, path: String, image: EnclaveImage, platform: any TEEPlatform,
                                logger: Logger) {
        do {
            try SealedRestart.saveState(dek: dek, atPath: path, image: image, platform: platform)
            logger.info("sealed state saved: the next start opens the model key with no owner or broker",
                        metadata: ["sealed_state": "\(path)", "seal_to": "\(image.manifest.keys.effectiveSealTo)"])
        } catch let error as SealedStateError where error.code == .noSealingKey {
            logger.notice("\(error)", metadata: ["sealed_state": "\(path)"])
        } catch {
            logger.warning("sealed state not saved (\(error)); the next start is a key release again",
                           metadata: ["sealed_state": "\(path)"])
        }
    }
}
