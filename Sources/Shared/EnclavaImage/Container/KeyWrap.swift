import EnclavaCrypto

/// Wraps and unwraps an image's data-encryption key (DEK).
///
/// Sealed wrapping (version 1): `wrap key = HKDF-SHA384(ikm: sealing key, salt: "",
/// info: "enclava/v1 dek wrap v1", 32)`, then AES-256-GCM with a random nonce over the 32-byte
/// DEK with `AAD = manifest digest ‖ measurement`. The sealing key itself comes from the platform,
/// derived with ``sealingPurpose`` and bound to the enclave's measurement; the AAD binds the
/// wrapping to one image.
public enum KeyWrap {
    /// The sealing scheme written and accepted.
    public static let sealingVersion: UInt32 = 1
    /// The only key policy of version 1.
    public static let measurementPolicy = "measurement"
    /// The purpose string both the packager and the runtime pass to the platform's sealing key
    /// derivation.
    public static let sealingPurpose = EnclavaProtocolLabels.dekSealingPurpose
    /// Size of a DEK.
    public static let dekByteCount = 32

    private static let wrapLabel: [UInt8] = Array("enclava/v1 dek wrap v1".utf8)
    private static let keyIDLabel: [UInt8] = Array("enclava/v1 owner key id".utf8)

    /// A fresh random DEK.
    public static func generateDEK() -> SecureBytes { SecureBytes.random(count: dekByteCount) }

    /// Seals `dek` under a key derived from `sealingKey`.
    ///
    /// - Parameters:
    ///   - measurement: The enclave measurement the sealing key is bound to; stored in clear and
    ///     authenticated, so that a runtime can tell which build a wrapping was made for.
    /// - Throws: ``ImageError`` `.invalidArgument` for a DEK that is not 32 bytes or an empty sealing key.
    public static func sealDEK(_ dek: SecureBytes, sealingKey: SecureBytes, manifestDigest: [UInt8],
                               measurement: [UInt8] = []) throws -> KeyWrapping {
        guard dek.count == dekByteCount, !sealingKey.isEmpty else {
            throw ImageError(.invalidArgument, "sealing needs a 32-byte DEK and a non-empty sealing key")
        }
        let nonce = SecureRandom.bytes(count: AESGCM.nonceByteCount)
        let aad = manifestDigest + measurement
        let sealed = try AESGCM.seal(key: try wrapKey(sealingKey), nonce: nonce, plaintext: dek, aad: aad)
        return .sealed(SealedDEK(version: sealingVersion, keyPolicy: measurementPolicy, purpose: sealingPurpose,
                                 measurement: measurement, nonce: nonce, sealedKey: sealed, aad: aad))
    }

    /// Unseals the DEK of a sealed wrapping.
    ///
    /// - Parameters:
    ///   - manifestDigest: The digest of the image being opened; a wrapping copied from another
    ///     image fails.
    ///   - measurement: When given, the wrapping must have been sealed for exactly this measurement.
    /// - Throws: ``ImageError`` `.unsealFailed` (wrong platform, measurement or image, or tampering),
    ///   `.unsupportedVersion` for an unknown scheme, `.invalidArgument` for an owner wrapping.
    public static func unsealDEK(_ wrapping: KeyWrapping, sealingKey: SecureBytes, manifestDigest: [UInt8],
                                 measurement: [UInt8]? = nil) throws -> SecureBytes {
        guard case .sealed(let sealed) = wrapping else {
            throw ImageError(.invalidArgument, "this image's key is held by its owner; provision it with `enclava provision`")
        }
        guard sealed.version == sealingVersion, sealed.keyPolicy == measurementPolicy else {
            throw ImageError(.unsupportedVersion,
                             "the image key is sealed with scheme \(sealed.version)/\(sealed.keyPolicy), which this build does not know; upgrade Enclava")
        }
        if let measurement, measurement != sealed.measurement {
            throw ImageError(.unsealFailed,
                             "the image key was sealed for another runtime measurement; repackage the image with --seal-for for this runtime")
        }
        guard sealed.aad == manifestDigest + sealed.measurement else {
            throw ImageError(.unsealFailed, "the image key was sealed for another image (manifest digest differs); repackage the image")
        }
        do {
            let dek = try AESGCM.open(key: try wrapKey(sealingKey), nonce: sealed.nonce, ciphertextAndTag: sealed.sealedKey,
                                      aad: sealed.aad)
            guard dek.count == dekByteCount else {
                throw ImageError(.unsealFailed, "the unsealed image key has \(dek.count) bytes, expected \(dekByteCount)")
            }
            return dek
        } catch let error as CryptoError {
            throw ImageError(.unsealFailed,
                             "cannot unseal the image key (\(error.code.rawValue)): it was sealed on another platform or for another runtime; repackage the image with --seal-for on this machine")
        }
    }

    /// The public identifier of an owner-held DEK: `HKDF-SHA256(ikm: DEK, info: "enclava/v1 owner key id", 16)`.
    public static func ownerKeyID(for dek: SecureBytes) throws -> [UInt8] {
        try HKDF.deriveKey(.sha256, ikm: dek, salt: [], info: keyIDLabel, length: 16).unsafeCopyToArray()
    }

    private static func wrapKey(_ sealingKey: SecureBytes) throws -> SecureBytes {
        try HKDF.deriveKey(.sha384, ikm: sealingKey, salt: [], info: wrapLabel, length: 32)
    }
}
