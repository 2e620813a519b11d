import EnclavaCrypto
import EnclavaImage

extension SealedRestart {
    /// Opens the sealed state at `path` (the runtime's `--sealed-state`): ``Opening/absent`` when `path` is nil or
    /// no file is there, ``Opening/opened(_:)`` with the DEK, or ``Opening/refused(_:)`` with the reason (an
    /// unreadable file included). On a platform without a sealing key (TDX) a present blob is refused with
    /// `.noSealingKey`.
    public static func openState(atPath path: String?, image: EnclaveImage, platform: any SealedStateKeySource) -> Opening {
        openState(atPath: path, manifestDigest: image.manifestDigest, sealTo: image.manifest.keys.effectiveSealTo,
                  platform: platform)
    }

    /// As ``openState(atPath:image:platform:)`` for the image `manifestDigest` under `sealTo`.
    public static func openState(atPath path: String?, manifestDigest: [UInt8], sealTo: Manifest.SealTo,
                                 platform: any SealedStateKeySource) -> Opening {
        guard let path else { return .absent }
        let blob: [UInt8]
        do {
            guard let bytes = try SealedStateFile.read(path: path) else { return .absent }
            blob = bytes
        } catch {
            return .refused(SealedStateError(.unreadable, "\(error)"))
        }
        switch openState(blob: blob, manifestDigest: manifestDigest, sealTo: sealTo, platform: platform) {
        case .success(let dek): return .opened(dek)
        case .failure(let error): return .refused(error)
        }
    }

    /// Seals `dek` for `image` and atomically replaces the file at `path` with the blob (mode 0600).
    /// - Throws: ``SealedStateError``: as ``makeState(dek:image:platform:)``, and `.unwritable`.
    public static func saveState(dek: SecureBytes, atPath path: String, image: EnclaveImage,
                                 platform: any SealedStateKeySource) throws {
        try saveState(dek: dek, atPath: path, manifestDigest: image.manifestDigest,
                      sealTo: image.manifest.keys.effectiveSealTo, platform: platform)
    }

    /// As ``saveState(dek:atPath:image:platform:)`` for the image `manifestDigest` under `sealTo`.
    public static func saveState(dek: SecureBytes, atPath path: String, manifestDigest: [UInt8], sealTo: Manifest.SealTo,
                                 platform: any SealedStateKeySource) throws {
        let blob = try makeState(dek: dek, manifestDigest: manifestDigest, sealTo: sealTo, platform: platform)
        do {
            try SealedStateFile.write(blob, to: path)
        } catch {
            throw SealedStateError(.unwritable, "cannot store the sealed state (\(error)); the next start will be a key "
                + "release again")
        }
    }
}
