import EnclavaCrypto
import Foundation

extension EvidenceVerifier {
    /// Verifies an Intel SGX DCAP quote v3 at `time`, in the order of evidence-formats.md §2–3: the
    /// attestation-key signature over `quote[0..<432]`; the QE report's binding of that key; the QE report
    /// signature by the PCK key; the PCK chain to the pinned Intel SGX Root CA (with CRLs when `collateral`
    /// is given); then, with collateral, the QE Identity (QE) and the SGX TCB Info, which give the TCB status.
    ///
    /// Policy (MRENCLAVE, MRSIGNER, debug, report data) is not applied here; see ``CheckedSGXQuote``.
    /// - Throws: ``AttestationError`` naming the first check that failed.
    public func verifySGX(quote: [UInt8], collateral: QuoteCollateral? = nil, at time: Date) throws -> CheckedSGXQuote {
        try Self.verifySGX(quote: quote, collateral: collateral, trustAnchors: IntelRootCertificates.all, at: time)
    }

    /// ``verifySGX(quote:collateral:at:)`` with explicit trust anchors (tests).
    static func verifySGX(
        quote bytes: [UInt8], collateral: QuoteCollateral?, trustAnchors: [Certificate], at time: Date
    ) throws -> CheckedSGXQuote {
        let quote = try SGXQuote(parsing: bytes)
        let checked = try verifyIntelQuote(
            header: quote.header, signedBytes: quote.signedBytes, signatureData: quote.signatureData,
            tdReport: nil, collateral: collateral, trustAnchors: trustAnchors, at: time)
        return CheckedSGXQuote(quote: quote, pck: checked.pck, root: checked.root, tcb: checked.tcb)
    }
}
