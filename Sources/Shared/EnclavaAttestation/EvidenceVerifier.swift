import EnclavaCrypto
import Foundation

/// Turns ``Evidence`` into ``VerifiedEvidence``, or explains why it cannot.
///
/// For SEV-SNP (the only format so far; the simulator uses it too) the checks run in this order:
/// 1. parse the report (size, offsets);
/// 2. the report signature under the leaf certificate's key (VCEK or VLEK, ECDSA P-384 / SHA-384);
/// 3. the certificate chain leaf ← ASK ← ARK at the verification time, to a real AMD ARK or — only when the
///    policy allows simulation — to a pinned simulated ARK; then the VCEK's chip id and TCB extensions
///    against the report;
/// 4. the report-data binding: `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest) ‖ HPKE key`;
/// 5. the policy: platform, debug, measurement, manifest digest.
///
/// Intel TDX and SGX quotes follow evidence-formats.md §2 (see ``verifyTDX(quote:collateral:at:)``), then the
/// same report-data binding and policy, with MRTD or MRENCLAVE as the measurement.
public struct EvidenceVerifier: Sendable {
    /// Limits on host-supplied certificate lists.
    static let maxCertificates = 8
    static let maxCertificateBytes = 16 << 10
    /// The shortest nonce accepted (the protocol sends 32 bytes).
    public static let minimumNonceByteCount = 16

    /// Simulated roots the verifier trusts when the policy allows simulation and pins no fingerprint
    /// (normally the local `$ENCLAVA_HOME` ARK, ``SimulatedPlatform/ark``).
    public let simulatedRoots: [Certificate]
    /// Hardware vendor roots (AMD ARKs).
    let vendorRoots: [Certificate]

    /// Creates a verifier.
    /// - Parameter simulatedRoots: simulated ARKs to trust when a policy allows simulation without
    ///   pinning `simulated_root_fingerprints`. Pass `[SimulatedPlatform.load(home:).ark]` for local runs.
    public init(simulatedRoots: [Certificate] = []) {
        self.init(simulatedRoots: simulatedRoots, vendorRoots: AMDRootCertificates.all)
    }

    /// Creates a verifier with explicit vendor roots (tests use the AMD sample ARKs).
    init(simulatedRoots: [Certificate], vendorRoots: [Certificate]) {
        self.simulatedRoots = simulatedRoots
        self.vendorRoots = vendorRoots
    }

    /// Verifies evidence from an enclave.
    ///
    /// - Parameters:
    ///   - evidence: what the enclave sent (untrusted).
    ///   - nonce: the fresh nonce this client sent with `GetEvidence` (at least ``minimumNonceByteCount`` bytes).
    ///   - manifestDigest: the manifest digest the enclave reported (bound through the report data).
    ///   - hpkePublicKey: the HPKE public key the enclave reported (must equal report data 32..<64).
    ///   - policy: what to accept.
    ///   - time: the time at which certificates must be valid.
    /// - Returns: the verified evidence, which says whether it is simulated.
    /// - Throws: ``AttestationError`` naming the first check that failed.
    public func verify(
        _ evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8], hpkePublicKey: [UInt8],
        policy: AttestationPolicy, at time: Date = Date()
    ) throws -> VerifiedEvidence {
        guard nonce.count >= Self.minimumNonceByteCount else {
            throw AttestationError(
                .reportDataMismatch, field: "nonce", expected: "at least \(Self.minimumNonceByteCount) bytes",
                actual: "\(nonce.count) bytes",
                "a nonce this short cannot prove the evidence is fresh; send 32 fresh random bytes")
        }
        guard policy.allowedPlatforms.contains(evidence.platform) else {
            throw AttestationError(
                .platformNotAllowed, field: "platform",
                expected: policy.allowedPlatforms.map(\.rawValue).joined(separator: ", "),
                actual: evidence.platform.rawValue,
                "the policy does not allow \(evidence.platform.rawValue) evidence; "
                    + "add it to `allowed_platforms` if you trust that platform")
        }
        switch evidence.platform {
        case .sevSNP:
            let checked = try verifySNPSignatureAndChain(evidence, policy: policy, at: time)
            return try finish(
                checked, evidence: evidence, nonce: nonce, manifestDigest: manifestDigest,
                hpkePublicKey: hpkePublicKey, policy: policy)
        case .tdx, .sgx:
            return try verifyIntelEvidence(
                evidence, nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey, policy: policy,
                at: time)
        case .nitro:
            throw AttestationError(
                .unsupportedPlatform, field: "platform", actual: evidence.platform.rawValue,
                "this verifier cannot check \(evidence.platform.rawValue) evidence yet; use sev-snp or simulation")
        }
    }

    /// Steps 4 and 5: report-data binding and policy, on a report whose signature and chain are verified.
    func finish(
        _ checked: CheckedSNPReport, evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8],
        hpkePublicKey: [UInt8], policy: AttestationPolicy
    ) throws -> VerifiedEvidence {
        let report = checked.report
        let expectedBinding = ReportData.binding(nonce: nonce, manifestDigest: manifestDigest)
        let actualBinding = Array(report.reportData[0..<32])
        guard constantTimeEquals(actualBinding, expectedBinding) else {
            throw AttestationError(
                .reportDataMismatch, field: "REPORT_DATA[0..<32]", expected: Hex.encode(expectedBinding),
                actual: Hex.encode(actualBinding),
                "the evidence does not bind this request's nonce and manifest digest (a replayed or "
                    + "substituted answer); ask again with a fresh nonce and do not trust this enclave")
        }
        let boundKey = Array(report.reportData[32..<64])
        guard hpkePublicKey.count == ReportData.hpkePublicKeyByteCount, constantTimeEquals(boundKey, hpkePublicKey)
        else {
            throw AttestationError(
                .hpkeKeyMismatch, field: "REPORT_DATA[32..<64]", expected: Hex.encode(boundKey),
                actual: Hex.encode(hpkePublicKey),
                "the HPKE key sent with the evidence is not the key the enclave's report vouches for; "
                    + "something between you and the enclave substituted it, so do not send it anything")
        }
        try checkPolicy(report: report, manifestDigest: manifestDigest, policy: policy)
        return VerifiedEvidence(
            platform: evidence.platform, isSimulated: checked.isSimulated, measurement: report.measurement,
            reportData: report.reportData, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey,
            evidenceDigest: SHA2.sha384(evidence.blob), rootFingerprint: checked.root.sha256Fingerprint,
            claims: checked.claims(platform: evidence.platform))
    }

    private func checkPolicy(report: SNPReport, manifestDigest: [UInt8], policy: AttestationPolicy) throws {
        if report.policy.isDebug, !policy.allowDebug {
            throw AttestationError(
                .debugNotAllowed, field: "POLICY", expected: "DEBUG (bit 19) clear",
                actual: report.policy.description,
                "the guest was launched with debugging allowed, so the host can read its memory; relaunch it "
                    + "without the debug policy bit (or set `allow_debug` for development only)")
        }
        let measurementHex = Hex.encode(report.measurement)
        guard policy.expectedMeasurementBytes.contains(where: { constantTimeEquals($0, report.measurement) }) else {
            throw AttestationError(
                .measurementMismatch, field: "MEASUREMENT",
                expected: policy.expectedMeasurements.isEmpty ? "(none pinned)" : policy.expectedMeasurements.joined(separator: " or "),
                actual: measurementHex,
                "the enclave runs code whose measurement \(measurementHex) is not in the policy's "
                    + "`expected_measurements`; if you built and trust this runtime, recreate the policy with "
                    + "`enclava policy create`")
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
    }
}
