import EnclavaCrypto
import Foundation

/// What the report-data binding and the policy need from a checked TDX or SGX quote.
struct CheckedIntelEvidence: Sendable {
    /// MRTD for TDX (48 bytes), MRENCLAVE for SGX (32 bytes): what the policy's `expected_measurements` pin.
    let measurement: [UInt8]
    let reportData: [UInt8]
    let isDebug: Bool
    /// The debug bits as the quote holds them, for the error message.
    let debugField: String
    let debugValue: String
    let root: Certificate
    let claims: [(String, String)]

    init(_ checked: CheckedTDXQuote) {
        measurement = checked.mrTD
        reportData = checked.reportData
        isDebug = checked.isDebug
        debugField = "TD_ATTRIBUTES"
        debugValue = Hex.encode(checked.tdAttributes)
        root = checked.root
        claims = checked.claims
    }

    init(_ checked: CheckedSGXQuote) {
        measurement = checked.mrEnclave
        reportData = checked.reportData
        isDebug = checked.isDebug
        debugField = "ATTRIBUTES"
        debugValue = Hex.encode(checked.attributes)
        root = checked.root
        claims = checked.claims
    }

    init(measurement: [UInt8], reportData: [UInt8], isDebug: Bool, root: Certificate, claims: [(String, String)]) {
        self.measurement = measurement
        self.reportData = reportData
        self.isDebug = isDebug
        debugField = "ATTRIBUTES"
        debugValue = isDebug ? "DEBUG" : "-"
        self.root = root
        self.claims = claims
    }
}

extension EvidenceVerifier {
    /// TDX and SGX evidence (`blob` is the quote; its PCK chain is inside it, so `certificates` is not
    /// used): the quote checks of ``verifyTDX(quote:collateral:at:)`` / ``verifySGX(quote:collateral:at:)``
    /// without collateral, then the report-data binding and the policy (debug, measurement = MRTD or
    /// MRENCLAVE, manifest digest). The chain must end in Intel's real root, so the result is never simulated.
    func verifyIntelEvidence(
        _ evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8], hpkePublicKey: [UInt8],
        policy: AttestationPolicy, at time: Date
    ) throws -> VerifiedEvidence {
        let checked: CheckedIntelEvidence
        switch evidence.platform {
        case .tdx: checked = CheckedIntelEvidence(try verifyTDX(quote: evidence.blob, at: time))
        case .sgx: checked = CheckedIntelEvidence(try verifySGX(quote: evidence.blob, at: time))
        default:
            throw AttestationError(
                .unsupportedPlatform, field: "platform", actual: evidence.platform.rawValue,
                "\(evidence.platform.rawValue) evidence is not an Intel quote")
        }
        return try Self.finishIntel(
            checked, evidence: evidence, nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey,
            policy: policy)
    }

    /// Report-data binding, then policy, for a checked Intel quote.
    static func finishIntel(
        _ checked: CheckedIntelEvidence, evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8],
        hpkePublicKey: [UInt8], policy: AttestationPolicy
    ) throws -> VerifiedEvidence {
        let expectedBinding = ReportData.binding(nonce: nonce, manifestDigest: manifestDigest)
        let actualBinding = Array(checked.reportData[0..<32])
        guard constantTimeEquals(actualBinding, expectedBinding) else {
            throw AttestationError(
                .reportDataMismatch, field: "REPORTDATA[0..<32]", expected: Hex.encode(expectedBinding),
                actual: Hex.encode(actualBinding),
                "the quote does not bind this request's nonce and manifest digest (a replayed or substituted "
                    + "answer); ask again with a fresh nonce and do not trust this enclave")
        }
        let boundKey = Array(checked.reportData[32..<64])
        guard hpkePublicKey.count == ReportData.hpkePublicKeyByteCount, constantTimeEquals(boundKey, hpkePublicKey) else {
            throw AttestationError(
                .hpkeKeyMismatch, field: "REPORTDATA[32..<64]", expected: Hex.encode(boundKey),
                actual: Hex.encode(hpkePublicKey),
                "the HPKE key sent with the evidence is not the key the quote vouches for; do not send it anything")
        }
        if checked.isDebug, !policy.allowDebug {
            throw AttestationError(
                .debugNotAllowed, field: checked.debugField, expected: "DEBUG clear", actual: checked.debugValue,
                "the \(evidence.platform.rawValue) enclave runs in debug mode, so the host can read its memory; launch "
                    + "it without debug (or set `allow_debug` for development only)")
        }
        let measurementHex = Hex.encode(checked.measurement)
        guard policy.expectedMeasurementBytes.contains(where: { constantTimeEquals($0, checked.measurement) }) else {
            throw AttestationError(
                .measurementMismatch, field: evidence.platform == .tdx ? "MRTD" : "MRENCLAVE",
                expected: policy.expectedMeasurements.isEmpty ? "(none pinned)" : policy.expectedMeasurements.joined(separator: " or "),
                actual: measurementHex,
                "the enclave's measurement \(measurementHex) is not in the policy's `expected_measurements`; pin it "
                    + "with `enclava policy create` if you built and trust this image")
        }
        let digestHex = Hex.encode(manifestDigest)
        guard policy.expectedManifestDigestBytes.contains(where: { constantTimeEquals($0, manifestDigest) }) else {
            throw AttestationError(
                .manifestDigestMismatch, field: "manifest_digest",
                expected: policy.expectedManifestDigests.isEmpty ? "(none pinned)" : policy.expectedManifestDigests.joined(separator: " or "),
                actual: digestHex,
                "the enclave serves an image whose manifest digest \(digestHex) is not in the policy's "
                    + "`expected_manifest_digests`; check with `enclava measure` and recreate the policy")
        }
        return VerifiedEvidence(
            platform: evidence.platform, isSimulated: false, measurement: checked.measurement,
            reportData: checked.reportData, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey,
            evidenceDigest: SHA2.sha384(evidence.blob), rootFingerprint: checked.root.sha256Fingerprint,
            claims: checked.claims)
    }
}
