import EnclavaCrypto
import Foundation

extension EvidenceVerifier {
    /// Verifies an Intel SGX DCAP quote v3 at `time`, in the order of evidence-formats.md §2–3: the
    /// attestation-key signature over `quote[0..<432]`; the QE report's binding of that key; the QE report
    /// signature by the PCK key; the PCK chain to the pinned Intel SGX Root CA; then the collateral (required:
    /// ``IntelCollateralSource``) — the chain with the CRLs, the QE Identity (QE) and the SGX TCB Info, which give
    /// the TCB status.
    ///
    /// Policy (MRENCLAVE, MRSIGNER, debug, report data) is not applied here; see ``CheckedSGXQuote``.
    /// - Throws: ``AttestationError`` naming the first check that failed.
    public func verifySGX(quote: [UInt8], collateral: QuoteCollateral, at time: Date) throws -> CheckedSGXQuote {
        try Self.verifySGX(quote: quote, collateral: collateral, trustAnchors: IntelRootCertificates.all, at: time)
    }

    /// ``verifySGX(quote:collateral:at:)`` with the host's collateral (`nil`: none relayed), the client's
    /// collateral source and explicit trust anchors.
    static func verifySGX(
        quote bytes: [UInt8], collateral: QuoteCollateral?, client: IntelCollateralSource = IntelCollateralSource(),
        trustAnchors: [Certificate], at time: Date
    ) throws -> CheckedSGXQuote {
        let quote = try SGXQuote(parsing: bytes)
        let checked = try verifyIntelQuote(
            header: quote.header, signedBytes: quote.signedBytes, signatureData: quote.signatureData,
            tdReport: nil, collateral: collateral, client: client, trustAnchors: trustAnchors, at: time)
        return CheckedSGXQuote(quote: quote, pck: checked.pck, root: checked.root, tcb: checked.tcb)
    }
}
