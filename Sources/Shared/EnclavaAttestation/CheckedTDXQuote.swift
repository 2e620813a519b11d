import EnclavaCrypto

/// A TDX quote whose signatures, QE binding and PCK chain to the Intel root have been verified with its
/// collateral (CRLs, QE Identity, TCB Info), which gave its TCB status. It says nothing yet about policy: whether the MRTD,
/// RTMRs and report data are the expected ones, or whether debug TDs are acceptable.
public struct CheckedTDXQuote: Sendable {
    /// The parsed quote.
    public let quote: TDXQuote
    /// The PCK certificate that signed the QE report, with its FMSPC and TCB.
    public let pck: PCKCertificate
    /// The Intel root the chain was verified to.
    public let root: Certificate
    /// The TCB status and advisories, from the verified collateral.
    public let tcb: TCBEvaluation

    /// MRTD (48 bytes).
    public var mrTD: [UInt8] { quote.body.mrTD }
    /// RTMR0…RTMR3.
    public var rtmrs: [[UInt8]] { quote.body.rtmrs }
    /// TD_ATTRIBUTES (8 bytes as in the quote).
    public var tdAttributes: [UInt8] { quote.body.tdAttributes }
    /// XFAM (8 bytes as in the quote).
    public var xfam: [UInt8] { quote.body.xfam }
    /// MRSEAM (48 bytes).
    public var mrSeam: [UInt8] { quote.body.mrSeam }
    /// REPORTDATA (64 bytes).
    public var reportData: [UInt8] { quote.body.reportData }
    /// True when the TD runs with TD_ATTRIBUTES.DEBUG: the host can read and change its memory.
    public var isDebug: Bool { quote.body.isDebug }

    /// Display facts, in a stable order.
    public var claims: [(String, String)] {
        let body = quote.body
        var claims: [(String, String)] = [
            ("platform", "tdx"),
            ("quote version", "\(quote.header.version) (body type \(quote.bodyType))"),
            ("MRTD", Hex.encode(body.mrTD)),
        ]
        for (index, rtmr) in body.rtmrs.enumerated() { claims.append(("RTMR\(index)", Hex.encode(rtmr))) }
        claims += [
            ("TD_ATTRIBUTES", Hex.encode(body.tdAttributes) + (body.isDebug ? " (DEBUG: not confidential)" : "")),
            ("XFAM", Hex.encode(body.xfam)),
            ("MRSEAM", Hex.encode(body.mrSeam)),
            ("TEE_TCB_SVN", Hex.encode(body.teeTCBSVN)),
            ("report data", Hex.encode(body.reportData)),
            ("FMSPC", Hex.encode(pck.fmspc)),
            ("PCK issuer", pck.certificate.issuer),
            ("root", "\(root.subjectCommonName ?? root.subject) sha256:\(Hex.encode(root.sha256Fingerprint))"),
        ]
        claims += IntelClaims.tcb(tcb)
        return claims
    }
}

/// Claims shared by the Intel quote kinds.
enum IntelClaims {
    static func tcb(_ tcb: TCBEvaluation) -> [(String, String)] {
        [
            ("tcb status", tcb.status.rawValue),
            ("advisories", tcb.advisoryIDs.isEmpty ? "none" : tcb.advisoryIDs.joined(separator: ", ")),
            ("tcb date", tcb.tcbDate),
            ("tcb evaluation data number", "\(tcb.tcbEvaluationDataNumber)"),
        ]
    }
}
