/// Untrusted material that helps verify evidence, carried beside it in ``Evidence/collateral``. Nothing here
/// is trusted: every certificate must chain to a pinned root and every document must carry a valid signature.
public struct EvidenceCollateral: Sendable, Equatable {
    /// Intel TCB Info, QE Identity and CRLs for a TDX or SGX quote, which such a quote needs to verify at all
    /// (unless the verifier holds the client's own, ``IntelCollateralSource``): they prove the quoting enclave's
    /// identity, check revocation and give the TCB status (see ``AttestationPolicy/allowedTCBStatuses``).
    public var quote: QuoteCollateral?
    /// An SEV-SNP certificate table as the host hands it out (configfs-tsm `auxblob`, or the certificate
    /// buffer of `SNP_GET_EXT_REPORT`): GUID entries for the VCEK or VLEK, the ASK or ASVK and the ARK.
    public var snpCertificateTable: [UInt8]?
    /// Further DER certificates in any order, e.g. a local cache of AMD KDS downloads (VCEKs for several
    /// chips and TCBs, ASKs). The verifier picks the VCEK or VLEK that matches the report's signing key,
    /// CHIP_ID and REPORTED_TCB.
    public var certificates: [[UInt8]]

    /// Collateral from its parts.
    public init(quote: QuoteCollateral? = nil, snpCertificateTable: [UInt8]? = nil, certificates: [[UInt8]] = []) {
        self.quote = quote
        self.snpCertificateTable = snpCertificateTable
        self.certificates = certificates
    }
}
