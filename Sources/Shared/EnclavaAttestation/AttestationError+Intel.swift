import EnclavaCrypto
/// The errors of the Intel SGX/TDX quote verifier, in one place so that each failure has one code and a
/// field that names the check.
extension AttestationError {
    /// The QE report's report data does not bind the attestation key and QE auth data.
    static func qeReportBinding(expected: [UInt8], actual: [UInt8]) -> AttestationError {
        AttestationError(
            .qeReportDataMismatch, field: "QE_REPORT.REPORTDATA", expected: Hex.encode(expected), actual: Hex.encode(actual),
            "the quoting enclave's report does not vouch for the key that signed this quote (report data must be "
                + "SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes); the quote was forged or altered")
    }

    /// Collateral (TCB Info, QE Identity, CRLs) that is malformed, badly signed, expired or for another platform.
    static func collateral(_ field: String, expected: String? = nil, actual: String? = nil, _ message: String,
                           fileID: String = #fileID, line: Int = #line) -> AttestationError {
        AttestationError(.collateralInvalid, field: field, expected: expected, actual: actual, message,
                         fileID: fileID, line: line)
    }

    /// Intel collateral that is absent, or lacks `parts`: without all of it the quoting enclave's identity (QE
    /// Identity), revocation (PCK and Root CA CRLs) and TCB level (TCB Info) are unproven, so the quote is refused.
    static func collateralMissing(
        _ parts: [String], _ message: String, fileID: String = #fileID, line: Int = #line
    ) -> AttestationError {
        AttestationError(
            .collateralMissing, field: "collateral", expected: IntelCollateralSource.requiredParts.joined(separator: ", "),
            actual: parts.isEmpty ? "none" : "missing " + parts.joined(separator: ", "),
            message + "; " + IntelCollateralSource.howToSupply, fileID: fileID, line: line)
    }

    /// A certificate that a CRL lists.
    static func revoked(_ subject: String, serial: [UInt8], crlIssuer: String) -> AttestationError {
        AttestationError(
            .certificateRevoked, field: "PCK chain", actual: Hex.encode(serial),
            "the certificate \"\(subject)\" (serial \(Hex.encode(serial))) is revoked by \"\(crlIssuer)\"; "
                + "do not trust this platform")
    }

    /// The QE report does not match Intel's QE Identity.
    static func qeIdentity(_ field: String, expected: String, actual: String) -> AttestationError {
        AttestationError(
            .qeIdentityMismatch, field: field, expected: expected, actual: actual,
            "the quoting enclave is not the one Intel's QE Identity describes; the quote did not come from "
                + "Intel's quoting enclave, or the collateral is for another QE")
    }
}

