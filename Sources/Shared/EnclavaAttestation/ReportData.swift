import EnclavaCrypto

/// The 64-byte report data an Enclava enclave asks its platform to sign (DESIGN.md §3):
/// `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest) ‖ hpke_public_key`.
///
/// The first half binds the client's fresh nonce (freshness) and the image identity; the second half is
/// the enclave's X25519 HPKE public key, so the client encrypts only to the key the TEE vouched for.
public enum ReportData {
    /// The size of SEV-SNP `REPORT_DATA` (and TDX/SGX `REPORTDATA`).
    public static let byteCount = 64
    /// The domain-separation label hashed before the nonce.
    public static let label = "enclava-evidence-v1"
    /// The size of an X25519 public key.
    public static let hpkePublicKeyByteCount = 32

    /// The binding half: `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest)` (32 bytes).
    public static func binding(nonce: [UInt8], manifestDigest: [UInt8]) -> [UInt8] {
        SHA2.sha256(Array(label.utf8) + nonce + manifestDigest)
    }

    /// Builds the 64-byte report data.
    ///
    /// - Parameters:
    ///   - nonce: the client's nonce (32 bytes in the protocol).
    ///   - manifestDigest: the image's manifest digest (48 bytes).
    ///   - hpkePublicKey: the enclave's X25519 public key; **must be 32 bytes** (traps otherwise — it is
    ///     the enclave's own key, never a value from the network).
    public static func make(nonce: [UInt8], manifestDigest: [UInt8], hpkePublicKey: [UInt8]) -> [UInt8] {
        precondition(hpkePublicKey.count == hpkePublicKeyByteCount, "an X25519 public key is 32 bytes")
        return binding(nonce: nonce, manifestDigest: manifestDigest) + hpkePublicKey
    }
}
