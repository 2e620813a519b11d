import EnclavaCrypto

/// An SGX DCAP quote whose signatures, QE binding and PCK chain to the Intel root have been verified with its
/// collateral (CRLs, QE Identity, TCB Info), which gave its TCB status. Policy (MRENCLAVE, MRSIGNER, debug, report data) is
/// still to be applied.
public struct CheckedSGXQuote: Sendable {
    /// The parsed quote.
    public let quote: SGXQuote
    /// The PCK certificate that signed the QE report.
    public let pck: PCKCertificate
    /// The Intel root the chain was verified to.
    public let root: Certificate
    /// The TCB status and advisories, from the verified collateral.
    public let tcb: TCBEvaluation

    /// MRENCLAVE (32 bytes).
    public var mrEnclave: [UInt8] { quote.body.mrEnclave }
    /// MRSIGNER (32 bytes).
    public var mrSigner: [UInt8] { quote.body.mrSigner }
    /// ISVPRODID.
    public var isvProdID: UInt16 { quote.body.isvProdID }
    /// ISVSVN.
    public var isvSVN: UInt16 { quote.body.isvSVN }
    /// ATTRIBUTES (16 bytes: flags ‖ xfrm).
    public var attributes: [UInt8] { quote.body.attributes }
    /// REPORTDATA (64 bytes).
    public var reportData: [UInt8] { quote.body.reportData }
    /// True when the enclave runs in debug mode (ATTRIBUTES.DEBUG).
    public var isDebug: Bool { quote.body.isDebug }

    /// Display facts, in a stable order.
    public var claims: [(String, String)] {
        let body = quote.body
        return [
            ("platform", "sgx"),
            ("quote version", "\(quote.header.version) (QE SVN \(quote.header.qeSVN), PCE SVN \(quote.header.pceSVN))"),
            ("MRENCLAVE", Hex.encode(body.mrEnclave)),
            ("MRSIGNER", Hex.encode(body.mrSigner)),
            ("ISVPRODID", "\(body.isvProdID)"),
            ("ISVSVN", "\(body.isvSVN)"),
            ("ATTRIBUTES", Hex.encode(body.attributes) + (body.isDebug ? " (DEBUG: not confidential)" : "")),
            ("CPUSVN", Hex.encode(body.cpuSVN)),
            ("report data", Hex.encode(body.reportData)),
            ("FMSPC", Hex.encode(pck.fmspc)),
            ("PCK issuer", pck.certificate.issuer),
            ("root", "\(root.subjectCommonName ?? root.subject) sha256:\(Hex.encode(root.sha256Fingerprint))"),
        ] + IntelClaims.tcb(tcb)
    }
}
