import EnclavaImage

/// Where the runtime obtains an image's data-encryption key (DEK) at start (DESIGN.md §7).
///
/// Obtaining the DEK is the only step that differs between sources; every source ends in the same
/// ``ModelActivation`` (DEK → decrypt into sealed memory → load → ready), through
/// ``EnclaveCore/activate(dek:with:)``:
///
/// | source | how the DEK arrives | state until then |
/// |---|---|---|
/// | ``sealedInImage`` | unsealed at start with the platform sealing key (`enclava package --seal-for sim`) | `loading` |
/// | ``owner`` | the owner's `ProvisionKey` after verifying this enclave's evidence (`enclava provision`) | `waiting-for-key` |
/// | ``broker`` | the enclave asks the key broker itself through the bridge (`--key-broker unix:PATH`): request → challenge → attestation → response | `waiting-for-key` |
///
/// Sealed restart (`enclava serve --state-dir`, runtime `--sealed-state PATH`) comes before ``owner`` and ``broker``:
/// a DEK this platform sealed after an earlier release is opened in `EnclaveRuntime.obtainKey`, checked like a
/// released key and activated, so the enclave is ready with no one in the loop; when the blob is absent or no
/// longer opens, the image's own source releases the key and the new sealed state replaces the old.
public enum KeySource: String, Sendable, Equatable, CaseIterable {
    /// The DEK is sealed in the image header to this platform and runtime measurement.
    case sealedInImage = "sealed-in-image"
    /// The model owner releases the DEK with `ProvisionKey` (`[keys] release = "owner"`, or `"sealed"` on its
    /// first start when the image carries only the owner's key commitment).
    case owner
    /// A key broker releases the DEK to the enclave (`[keys] release = "broker"`).
    case broker

    /// The source for a verified image: a key sealed in the image wins (it needs no one in the loop, and its
    /// wrapping is covered by the header signature); otherwise the manifest's `[keys] release`.
    /// - Throws: ``RuntimeError`` `.noSealedKey` when the image carries neither a sealed key nor an owner key
    ///   commitment, so no released key could ever be checked.
    public static func choose(for image: EnclaveImage) throws -> KeySource {
        if image.keyWrappings.contains(where: { if case .sealed = $0 { true } else { false } }) { return .sealedInImage }
        guard image.keyWrappings.contains(where: { if case .owner = $0 { true } else { false } }) else {
            throw RuntimeError(.noSealedKey, "the image carries neither a sealed key nor an owner key commitment; "
                               + "package it with `enclava package --seal-for sim` or `--owner-key-out FILE`")
        }
        switch image.manifest.keys.release {
        case .owner, .sealed: return .owner
        case .broker: return .broker
        }
    }

    /// Whether the enclave starts in `waiting-for-key` (the DEK arrives after start).
    public var waitsForKey: Bool { self != .sealedInImage }
}
