import EnclavaCrypto
/// The TCB status of a verified quote's platform, computed from verified TCB Info and QE Identity the way
/// Intel's QVL does: the first TCB level (newest first) that the PCK's SGX component SVNs and PCESVN reach —
/// and, for TDX, that TEE_TCB_SVN reaches — gives the platform status; the TDX module identity and the QE
/// identity can only lower it.
public struct TCBEvaluation: Sendable, Equatable {
    /// The overall status.
    public let status: TCBStatus
    /// Intel security advisories that apply (platform level, TDX module level and QE level), without duplicates.
    public let advisoryIDs: [String]
    /// The status of the matched TCB level alone (the TDX level for TDX quotes).
    public let platformStatus: TCBStatus
    /// The TDX module identity's status (nil for SGX; up to date when the module major version is 0).
    public let tdxModuleStatus: TCBStatus?
    /// The quoting enclave's status from the QE Identity.
    public let qeStatus: TCBStatus
    /// The matched level's `tcbDate`.
    public let tcbDate: String
    /// The collateral's `tcbEvaluationDataNumber`.
    public let tcbEvaluationDataNumber: Int

    static func evaluate(
        _ collateral: VerifiedCollateral, pck: PCKCertificate, qeReport: SGXReportBody, tdReport: TDReportBody?
    ) throws -> TCBEvaluation {
        let info = collateral.tcbInfo
        guard Hex.decode(info.fmspc) == pck.fmspc else {
            throw AttestationError.collateral(
                "TCB Info fmspc", expected: Hex.encode(pck.fmspc), actual: info.fmspc,
                "the TCB Info is for another platform (FMSPC); fetch the TCB Info for FMSPC \(Hex.encode(pck.fmspc))")
        }
        guard Hex.decode(info.pceId) == pck.pceID else {
            throw AttestationError.collateral(
                "TCB Info pceId", expected: Hex.encode(pck.pceID), actual: info.pceId,
                "the TCB Info is for another PCE; fetch the TCB Info for this platform")
        }
        let (qeStatus, qeAdvisories) = try checkQEIdentity(collateral.qeIdentity, qeReport: qeReport)
        var sgxLevel: (TCBInfo.Level, TCBStatus)?
        var tdxLevel: (TCBInfo.Level, TCBStatus)?
        for level in info.tcbLevels {
            let sgx = level.tcb.sgxtcbcomponents.map(\.svn)
            guard sgx.count == 16 else {
                throw AttestationError.collateral("TCB Info sgxtcbcomponents", "a TCB level does not list 16 SGX components")
            }
            guard zip(pck.sgxTCBComponents, sgx).allSatisfy({ Int($0) >= $1 }), Int(pck.pceSVN) >= level.tcb.pcesvn else {
                continue
            }
            let levelStatus = try status(level.tcbStatus, document: "TCB Info")
            guard let tdReport else {
                sgxLevel = (level, levelStatus)
                break
            }
            if sgxLevel == nil { sgxLevel = (level, levelStatus) }
            guard let tdx = level.tcb.tdxtcbcomponents?.map(\.svn), tdx.count == 16 else {
                throw AttestationError.collateral("TCB Info tdxtcbcomponents", "a TDX TCB level does not list 16 TDX components")
            }
            let svn = tdReport.teeTCBSVN
            let start = svn[1] > 0 ? 2 : 0
            if (start..<16).allSatisfy({ Int(svn[$0]) >= tdx[$0] }) {
                tdxLevel = (level, levelStatus)
                break
            }
        }
        guard let sgxLevel else {
            throw AttestationError(
                .tcbMismatch, field: "PCK TCB", expected: "a TCB level in the TCB Info",
                actual: "SGX SVNs \(Hex.encode(pck.sgxTCBComponents)) PCESVN \(pck.pceSVN)",
                "the platform's TCB is below every level Intel lists for FMSPC \(info.fmspc) (TCB not supported); update the platform")
        }
        guard let tdReport else {
            return TCBEvaluation(
                status: sgxLevel.1.converged(with: qeStatus), advisoryIDs: unique((sgxLevel.0.advisoryIDs ?? []) + qeAdvisories),
                platformStatus: sgxLevel.1, tdxModuleStatus: nil, qeStatus: qeStatus, tcbDate: sgxLevel.0.tcbDate,
                tcbEvaluationDataNumber: info.tcbEvaluationDataNumber)
        }
        guard let tdxLevel else {
            throw AttestationError(
                .tcbMismatch, field: "TEE_TCB_SVN", expected: "a TDX TCB level in the TCB Info",
                actual: Hex.encode(tdReport.teeTCBSVN),
                "the TDX module's TCB is below every level Intel lists for FMSPC \(info.fmspc) (TCB not supported); update the TDX module")
        }
        let (moduleStatus, moduleAdvisories) = try checkTDXModule(info, report: tdReport)
        return TCBEvaluation(
            status: tdxLevel.1.converged(with: moduleStatus).converged(with: qeStatus),
            advisoryIDs: unique((tdxLevel.0.advisoryIDs ?? []) + moduleAdvisories + qeAdvisories),
            platformStatus: tdxLevel.1, tdxModuleStatus: moduleStatus, qeStatus: qeStatus, tcbDate: tdxLevel.0.tcbDate,
            tcbEvaluationDataNumber: info.tcbEvaluationDataNumber)
    }

    /// The QE report against the QE Identity: MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES, then
    /// the first level its ISVSVN reaches.
    private static func checkQEIdentity(_ identity: QEIdentity, qeReport: SGXReportBody) throws -> (TCBStatus, [String]) {
        guard let mrSigner = Hex.decode(identity.mrsigner), let misc = Hex.decode(identity.miscselect),
              let miscMask = Hex.decode(identity.miscselectMask), misc.count == 4, miscMask.count == 4,
              let attributes = Hex.decode(identity.attributes), let attributesMask = Hex.decode(identity.attributesMask),
              attributes.count == 16, attributesMask.count == 16
        else { throw AttestationError.collateral("QE Identity", "the QE Identity's hex fields are malformed") }
        guard mrSigner == qeReport.mrSigner else {
            throw AttestationError.qeIdentity("QE_REPORT.MRSIGNER", expected: identity.mrsigner.lowercased(), actual: Hex.encode(qeReport.mrSigner))
        }
        guard identity.isvprodid == Int(qeReport.isvProdID) else {
            throw AttestationError.qeIdentity("QE_REPORT.ISVPRODID", expected: "\(identity.isvprodid)", actual: "\(qeReport.isvProdID)")
        }
        // MISCSELECT is little-endian in the report and big-endian hex in the identity.
        let reportMisc = (0..<4).map { UInt8(truncatingIfNeeded: qeReport.miscSelect >> (8 * UInt32(3 - $0))) }
        guard zip(zip(reportMisc, misc), miscMask).allSatisfy({ $0.0 & $1 == $0.1 & $1 }) else {
            throw AttestationError.qeIdentity("QE_REPORT.MISCSELECT", expected: identity.miscselect, actual: Hex.encode(reportMisc))
        }
        guard zip(zip(qeReport.attributes, attributes), attributesMask).allSatisfy({ $0.0 & $1 == $0.1 & $1 }) else {
            throw AttestationError.qeIdentity("QE_REPORT.ATTRIBUTES", expected: identity.attributes, actual: Hex.encode(qeReport.attributes))
        }
        guard let level = identity.tcbLevels.first(where: { Int(qeReport.isvSVN) >= $0.tcb.isvsvn }) else {
            throw AttestationError(
                .tcbMismatch, field: "QE_REPORT.ISVSVN", actual: "\(qeReport.isvSVN)",
                "the quoting enclave's ISVSVN is below every level of the QE Identity (QE TCB not supported); update the platform software")
        }
        return (try status(level.tcbStatus, document: "QE Identity"), level.advisoryIDs ?? [])
    }

    /// The TDX module: with major version 0 the TCB Info's `tdxModule`; otherwise the identity `TDX_<major>`
    /// and the first of its levels that TEE_TCB_SVN[0] reaches. MRSIGNERSEAM and SEAM_ATTRIBUTES must match.
    private static func checkTDXModule(_ info: TCBInfo, report: TDReportBody) throws -> (TCBStatus, [String]) {
        let major = report.teeTCBSVN[1]
        let expected: (mrsigner: String, attributes: String, mask: String)
        var result: (TCBStatus, [String]) = (.upToDate, [])
        if major == 0 {
            guard let module = info.tdxModule else {
                throw AttestationError.collateral("TCB Info tdxModule", "the TDX TCB Info lacks `tdxModule`")
            }
            expected = (module.mrsigner, module.attributes, module.attributesMask)
        } else {
            let id = "TDX_" + Hex.encode([major]).uppercased()
            guard let identity = info.tdxModuleIdentities?.first(where: { $0.id.uppercased() == id }) else {
                throw AttestationError(
                    .tcbMismatch, field: "TDX module identity", expected: id, actual: "none in the TCB Info",
                    "the TCB Info has no identity for TDX module major version \(major); fetch current collateral")
            }
            guard let level = identity.tcbLevels.first(where: { Int(report.teeTCBSVN[0]) >= $0.tcb.isvsvn }) else {
                throw AttestationError(
                    .tcbMismatch, field: "TEE_TCB_SVN[0]", actual: "\(report.teeTCBSVN[0])",
                    "the TDX module's SVN is below every level of \(id) (TCB not supported); update the TDX module")
            }
            expected = (identity.mrsigner, identity.attributes, identity.attributesMask)
            result = (try status(level.tcbStatus, document: "TDX module identity"), level.advisoryIDs ?? [])
        }
        guard Hex.decode(expected.mrsigner) == report.mrSignerSeam else {
            throw AttestationError(
                .tcbMismatch, field: "MRSIGNERSEAM", expected: expected.mrsigner.lowercased(), actual: Hex.encode(report.mrSignerSeam),
                "the TDX module was not signed by the signer Intel's TCB Info names")
        }
        guard let attributes = Hex.decode(expected.attributes), let mask = Hex.decode(expected.mask),
              attributes.count == 8, mask.count == 8,
              zip(zip(report.seamAttributes, attributes), mask).allSatisfy({ $0.0 & $1 == $0.1 & $1 })
        else {
            throw AttestationError(
                .tcbMismatch, field: "SEAM_ATTRIBUTES", expected: expected.attributes, actual: Hex.encode(report.seamAttributes),
                "the TDX module's attributes differ from Intel's TCB Info")
        }
        return result
    }

    private static func status(_ text: String, document: String) throws -> TCBStatus {
        guard let status = TCBStatus(rawValue: text) else {
            throw AttestationError.collateral("\(document) tcbStatus", actual: text, "the \(document) has an unknown TCB status")
        }
        return status
    }

    private static func unique(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }
}
