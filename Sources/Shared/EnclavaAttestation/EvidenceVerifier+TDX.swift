import EnclavaCrypto
import Foundation

extension EvidenceVerifier {
    /// Verifies an Intel TDX quote (v4, or v5 with a TDX 1.0 or 1.5 body) at `time`, in the order of
    /// evidence-formats.md §2: the attestation-key signature over header and body; the QE report's binding
    /// of that key; the QE report signature by the PCK key; the PCK chain to the pinned Intel SGX Root CA;
    /// then the collateral (required: ``IntelCollateralSource``) — the chain with the PCK and Root CA CRLs, the
    /// QE Identity (TD_QE) and the TCB Info for the PCK's FMSPC, each signed by Intel, which give the TCB status.
    ///
    /// Policy (MRTD, RTMRs, debug, report data) is not applied here; see ``CheckedTDXQuote``.
    /// - Parameters:
    ///   - quote: the quote bytes (trailing bytes after the signature data are ignored).
    ///   - collateral: Intel's TCB Info, QE Identity, PCK CRL and Root CA CRL for this quote's FMSPC.
    ///   - time: when certificates, CRLs and collateral must be valid.
    /// - Throws: ``AttestationError`` naming the first check that failed.
    public func verifyTDX(quote: [UInt8], collateral: QuoteCollateral, at time: Date) throws -> CheckedTDXQuote {
        try Self.verifyTDX(quote: quote, collateral: collateral, trustAnchors: IntelRootCertificates.all, at: time)
    }

    /// ``verifyTDX(quote:collateral:at:)`` with the host's collateral (`nil`: none relayed), the client's
    /// collateral source and explicit trust anchors.
    static func verifyTDX(
        quote bytes: [UInt8], collateral: QuoteCollateral?, client: IntelCollateralSource = IntelCollateralSource(),
        trustAnchors: [Certificate], at time: Date
    ) throws -> CheckedTDXQuote {
        let quote = try TDXQuote(parsing: bytes)
        let checked = try verifyIntelQuote(
            header: quote.header, signedBytes: quote.signedBytes, signatureData: quote.signatureData,
            tdReport: quote.body, collateral: collateral, client: client, trustAnchors: trustAnchors, at: time)
        return CheckedTDXQuote(quote: quote, pck: checked.pck, root: checked.root, tcb: checked.tcb)
    }
}
