import EnclavaCrypto
import EnclavaImage

/// Sealed restart (DESIGN.md §7): after an owner or broker release the enclave seals the model key (DEK) to its
/// platform sealing key and hands the blob to the host; the next start opens it with no owner or broker, and
/// falls back to a release when it no longer opens (another measurement, machine or TCB, another image, or a
/// damaged blob).
///
/// The runtime calls it at two points:
/// ```swift
/// // At start, before asking for a release:
/// switch SealedRestart.openState(atPath: options.sealedStatePath, image: image, platform: platform) {
/// case .opened(let dek): load with dek                      // no owner, no broker
/// case .absent: release                                       // first start
/// case .refused(let error): log(error); release               // then the new blob replaces the old one
/// }
/// // Right after a successful release:
/// try SealedRestart.saveState(dek: dek, atPath: path, image: image, platform: platform)
/// ```
public enum SealedRestart {
    /// What a start found at the sealed-state path.
    public enum Opening: Sendable {
        /// The state opened: the image's DEK.
        case opened(SecureBytes)
        /// No path was given or no file is there yet: the first start is a release.
        case absent
        /// A blob is there and does not open (or this platform cannot seal): release, then replace it.
        case refused(SealedStateError)

        /// The DEK when the state opened.
        public var dek: SecureBytes? {
            if case .opened(let dek) = self { return dek }
            return nil
        }

        /// Why the state was not used, when a blob was there.
        public var reason: SealedStateError? {
            if case .refused(let error) = self { return error }
            return nil
        }

        /// One log line for the runtime: what happened and what comes next.
        public var logLine: String {
            switch self {
            case .opened: "sealed state opened: starting without a key release"
            case .absent: "no sealed state yet: this start is a key release"
            case .refused(let error) where error.code == .noSealingKey: "\(error)"
            case .refused(let error): "sealed state not used (\(error)); falling back to a key release, which replaces it"
            }
        }
    }

    // MARK: Blobs

    /// Seals `dek` for `image` on `platform` under the image's `seal_to`.
    /// - Returns: the blob for the host to keep.
    /// - Throws: ``SealedStateError``: `.noSealingKey` (TDX), `.policyUnsupported`, `.keyUnavailable`,
    ///   `.invalidArgument`.
    public static func makeState(dek: SecureBytes, image: EnclaveImage, platform: any SealedStateKeySource) throws -> [UInt8] {
        try makeState(dek: dek, manifestDigest: image.manifestDigest, sealTo: image.manifest.keys.effectiveSealTo,
                      platform: platform)
    }

    /// Seals `dek` for the image `manifestDigest` under `sealTo`.
    /// - Throws: as ``makeState(dek:image:platform:)``.
    public static func makeState(dek: SecureBytes, manifestDigest: [UInt8], sealTo: Manifest.SealTo,
                                 platform: any SealedStateKeySource) throws -> [UInt8] {
        try attempt {
            let key = try platform.sealedStateKey(policy: SealingPolicy(sealTo))
            return try SealedState.seal(dek: dek, key: key, manifestDigest: manifestDigest).serialized
        }.get()
    }

    /// Opens a blob for `image` on `platform`: the DEK, or the specific reason it does not open.
    public static func openState(blob: [UInt8], image: EnclaveImage, platform: any SealedStateKeySource)
        -> Result<SecureBytes, SealedStateError> {
        openState(blob: blob, manifestDigest: image.manifestDigest, sealTo: image.manifest.keys.effectiveSealTo,
                  platform: platform)
    }

    /// Opens a blob for the image `manifestDigest` under `sealTo`. The key is always derived from this platform's
    /// own identity and current TCB; the blob's header only says what it claims, and every claim must match.
    public static func openState(blob: [UInt8], manifestDigest: [UInt8], sealTo: Manifest.SealTo,
                                 platform: any SealedStateKeySource) -> Result<SecureBytes, SealedStateError> {
        attempt {
            let policy = SealingPolicy(sealTo)
            let key = try platform.sealedStateKey(policy: policy)
            let state = try SealedState(parsing: blob)
            guard state.manifestDigest == manifestDigest else {
                throw SealedStateError(.otherImage, "the sealed state belongs to another image (manifest digest "
                    + "\(short(state.manifestDigest)), this image is \(short(manifestDigest)))")
            }
            guard state.backend == key.backend else {
                throw SealedStateError(.otherBackend, "the sealed state was sealed on backend `\(state.backend)`; this "
                    + "enclave runs on `\(key.backend)`")
            }
            guard state.policy == policy else {
                throw SealedStateError(.otherPolicy, "the sealed state was sealed to the \(state.policy), the image's "
                    + "seal_to is now \"\(policy)\"")
            }
            guard state.binding == key.binding else {
                let what = policy == .measurement ? "measurement" : "signer"
                throw SealedStateError(.otherEnclave, "the sealed state was sealed for \(what) \(short(state.binding)); "
                    + "this enclave's is \(short(key.binding)) (a rebuilt or updated runtime)")
            }
            guard state.tcb == key.tcb else {
                throw SealedStateError(.tcbChanged, tcbChange(sealed: state.tcb, current: key.tcb, backend: key.backend))
            }
            return try state.open(key: key)
        }
    }

    /// Why two TCBs differ, in words: an older blob after an update, a newer one after a rollback (or a forgery).
    static func tcbChange(sealed: [UInt8], current: [UInt8], backend: String) -> String {
        let head = "the sealed state was sealed under TCB \(Hex.encode(sealed)); the \(backend) platform is now at "
            + "\(Hex.encode(current))"
        guard sealed.count == current.count else { return head }
        let pairs = zip(sealed, current)
        if pairs.allSatisfy({ $0 <= $1 }) {
            return head + ": the firmware or microcode was updated since, and a key from the old TCB is not used"
        }
        if pairs.allSatisfy({ $0 >= $1 }) {
            return head + ": the blob claims a newer TCB than this platform has (a rollback, or not a genuine blob)"
        }
        return head
    }

    /// Runs `body`; a platform error that is not a ``SealedStateError`` becomes `.keyUnavailable`.
    private static func attempt<T>(_ body: () throws -> T) -> Result<T, SealedStateError> {
        do {
            return .success(try body())
        } catch let error as SealedStateError {
            return .failure(error)
        } catch {
            return .failure(SealedStateError(.keyUnavailable, "the platform could not derive the sealing key: \(error)"))
        }
    }

    /// The first 8 bytes in hex, then `…`.
    static func short(_ bytes: [UInt8]) -> String {
        bytes.count <= 8 ? Hex.encode(bytes) : Hex.encode(Array(bytes.prefix(8))) + "…"
    }
}
