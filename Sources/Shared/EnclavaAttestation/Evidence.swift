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
    /// Arm CCA attestation token (platform token + realm token).
    case cca
    /// Arm PSA initial attestation token (a TrustZone-M platform; verified, not a runtime platform).
    case psa
}

/// Evidence as it arrives from an enclave, **not yet verified**: anything here may be forged. Only
/// ``EvidenceVerifier/verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)`` turns it into
/// ``VerifiedEvidence`` (an Enclava enclave, report data bound to the request), and
/// ``EvidenceVerifier/verifyEvidence(_:policy:at:)`` into ``AttestedEvidence`` (any hardware evidence).
public struct Evidence: Sendable, Equatable {
    /// The platform the enclave claims.
    public var platform: EvidencePlatform
    /// The platform's evidence bytes (for SEV-SNP: the 1184-byte attestation report).
    public var blob: [UInt8]
    /// DER certificates, leaf first (for SEV-SNP: VCEK or VLEK, then ASK or ASVK, then ARK). May be empty
    /// when ``collateral`` supplies them. Not used for TDX and SGX (the PCK chain is inside the quote).
    public var certificates: [[UInt8]]
    /// Extra, untrusted material a verifier may use: Intel TCB Info / QE Identity / CRLs, an SEV-SNP
    /// certificate table or cached AMD certificates. Nil when there is none.
    public var collateral: EvidenceCollateral?

    /// Wraps evidence bytes and certificates.
    public init(platform: EvidencePlatform, blob: [UInt8], certificates: [[UInt8]]) {
        self.init(platform: platform, blob: blob, certificates: certificates, collateral: nil)
    }

    /// Wraps evidence bytes, certificates and collateral.
    public init(platform: EvidencePlatform, blob: [UInt8], certificates: [[UInt8]], collateral: EvidenceCollateral?) {
        self.platform = platform
        self.blob = blob
        self.certificates = certificates
        self.collateral = collateral
    }
}
