import EnclavaCrypto

/// The AMD root keys (ARKs) that hardware SEV-SNP evidence must chain to.
///
/// Empty for now: issue 4 embeds ARK-Milan, ARK-Genoa and ARK-Turin (from AMD KDS, with their
/// fingerprints). Until then no evidence verifies as hardware evidence, which fails closed.
enum AMDRootCertificates {
    /// The pinned ARKs.
    static let all: [Certificate] = []
}
