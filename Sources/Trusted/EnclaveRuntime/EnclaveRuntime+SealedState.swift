import EnclavaCrypto
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
    /// Tries the sealed state at `path`; true when the enclave is ready from it (no release needed).
    /// - Throws: ``RuntimeError`` when the key opened and matched but the model did not load (the runtime is
    ///   stopped first), as a failed start with a key sealed in the image would.
    func startFromSealedState(path: String, image: EnclaveImage, platform: any TEEPlatform,
                              activation: ModelActivation) async throws -> Bool {
        let opening = SealedRestart.openState(atPath: path, image: image, platform: platform)
        let dek: SecureBytes
        switch opening {
        case .absent:
            logger.info("\(opening.logLine)", metadata: ["sealed_state": "\(path)"])
            return false
        case .refused(let error) where error.code == .noSealingKey:
            logger.notice("\(opening.logLine)", metadata: ["sealed_state": "\(path)"])
            return false
        case .refused(let error):
            logger.warning("\(opening.logLine)", metadata: ["sealed_state": "\(path)", "code": "\(error.code.rawValue)"])
            return false
        case .opened(let opened):
            dek = opened
        }
        do {
            try activation.checkKey(dek)
        } catch {
            logger.warning("sealed state not used (\(Self.sealedKeyMismatch)); falling back to a key release, which replaces it",
                           metadata: ["sealed_state": "\(path)", "code": "\(Self.sealedKeyMismatch)"])
            return false
        }
        logger.info("\(opening.logLine)", metadata: ["sealed_state": "\(path)"])
        if let failure = await core.activate(dek: dek, with: activation) {
            logger.error("startup failed", metadata: ["reason": "\(failure.message)"])
            await shutdown(delay: .zero)
            throw failure
        }
        logger.info("ready: the model key came from this enclave's sealed state, with no owner or broker",
                    metadata: ["model": "\(image.manifest.image.name)", "sealed_state": "\(path)"])
        return true
    }

    /// The log code of a sealed state that opened with this platform's key but holds another key than the image's
    /// commitment names (only a forged or corrupted writer could make one).
    static let sealedKeyMismatch = "SEALED_STATE_KEY_MISMATCH"

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
