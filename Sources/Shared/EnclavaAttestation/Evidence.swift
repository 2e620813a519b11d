/// The TEE platforms whose evidence Enclava knows. The simulator produces ``sevSNP`` evidence under
/// simulated roots; whether evidence is simulated is decided by its certificate chain, not by this value.
public enum EvidencePlatform: String, Codable, Sendable, CaseIterable {
    /// AMD SEV-SNP attestation report.
    case sevSNP = "sev-snp"
    /// Intel TDX quote.
    case tdx
    /// Intel SGX DCAP quote.
    case sgx
    /// AWS Nitro attestation document.
    case nitro
}

/// Evidence as it arrives from an enclave, **not yet verified**: anything here may be forged. Only
/// ``EvidenceVerifier/verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)`` turns it into
/// ``VerifiedEvidence``.
public struct Evidence: Sendable, Equatable {
    /// The platform the enclave claims.
    public var platform: EvidencePlatform
    /// The platform's evidence bytes (for SEV-SNP: the 1184-byte attestation report).
    public var blob: [UInt8]
    /// DER certificates, leaf first (for SEV-SNP: VCEK, ASK, ARK).
    public var certificates: [[UInt8]]

    /// Wraps evidence bytes and certificates.
    public init(platform: EvidencePlatform, blob: [UInt8], certificates: [[UInt8]]) {
        self.platform = platform
        self.blob = blob
        self.certificates = certificates
    }
}
