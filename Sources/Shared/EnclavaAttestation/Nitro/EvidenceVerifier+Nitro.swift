import EnclavaCrypto
import Foundation

/// AWS Nitro Enclaves evidence in the Enclava protocol.
///
/// **Design (DESIGN.md §3 addition).** An Enclava enclave on Nitro asks the NSM for an attestation document
/// with `user_data` = the same 64 bytes it would put in SEV-SNP `REPORT_DATA`:
/// `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest) ‖ X25519 HPKE public key` (``ReportData``).
/// The HPKE key is therefore bound through `user_data[32..<64]`, **not** through the document's
/// `public_key` field, which is left to its AWS use (AWS KMS encrypts `Recipient` responses to an RSA
/// `public_key`) and is ignored by Enclava. `nonce` is not used either: freshness comes from the binding,
/// exactly as on the other platforms. The measurement the policy's `expected_measurements` pins is PCR0
/// (the enclave image file's SHA-384 measurement); a document whose PCR0 is all zeros is a debug-mode
/// enclave and is refused unless the policy sets `allow_debug`.
///
/// `Evidence.blob` is the COSE_Sign1 document; `Evidence.certificates` is not used (the chain is inside).
extension EvidenceVerifier {
    /// Verifies Nitro evidence: ``verifyNitro(document:at:)``, then the `user_data` binding, then the policy.
    func verifyNitroEvidence(
        _ evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8], hpkePublicKey: [UInt8],
        policy: AttestationPolicy, at time: Date
    ) throws -> VerifiedEvidence {
        let checked = try verifyNitro(document: evidence.blob, at: time)
        return try Self.finishNitro(
            checked, evidence: evidence, nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey,
            policy: policy)
    }

    /// The `user_data` binding, then the policy (``checkNitroPolicy(_:policy:)`` and the manifest digest), for
    /// a document whose signature and chain are verified.
    static func finishNitro(
        _ checked: CheckedNitroDocument, evidence: Evidence, nonce: [UInt8], manifestDigest: [UInt8],
        hpkePublicKey: [UInt8], policy: AttestationPolicy
    ) throws -> VerifiedEvidence {
        let userData = checked.document.userData ?? []
        guard userData.count == ReportData.byteCount else {
            throw AttestationError(
                .reportDataMismatch, field: "user_data", expected: "\(ReportData.byteCount) bytes",
                actual: "\(userData.count) bytes",
                "the Nitro document's `user_data` does not hold Enclava report data (binding ‖ HPKE key); this "
                    + "enclave is not an Enclava runtime or did not bind this request")
        }
        let expectedBinding = ReportData.binding(nonce: nonce, manifestDigest: manifestDigest)
        let actualBinding = Array(userData[0..<32])
        guard constantTimeEquals(actualBinding, expectedBinding) else {
            throw AttestationError(
                .reportDataMismatch, field: "user_data[0..<32]", expected: Hex.encode(expectedBinding),
                actual: Hex.encode(actualBinding),
                "the document does not bind this request's nonce and manifest digest (a replayed or substituted "
                    + "answer); ask again with a fresh nonce and do not trust this enclave")
        }
        let boundKey = Array(userData[32..<64])
        guard hpkePublicKey.count == ReportData.hpkePublicKeyByteCount, constantTimeEquals(boundKey, hpkePublicKey) else {
            throw AttestationError(
                .hpkeKeyMismatch, field: "user_data[32..<64]", expected: Hex.encode(boundKey),
                actual: Hex.encode(hpkePublicKey),
                "the HPKE key sent with the evidence is not the key the document vouches for; do not send it anything")
        }
        try checkNitroPolicy(checked, policy: policy)
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
            platform: .nitro, isSimulated: false, measurement: checked.measurement, reportData: userData,
            manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey, evidenceDigest: SHA2.sha384(evidence.blob),
            rootFingerprint: checked.root.sha256Fingerprint, claims: checked.claims)
    }

    /// The policy checks of a verified Nitro document: the platform, debug mode (PCR0 all zeros), and PCR0
    /// against `expected_measurements`.
    /// - Throws: ``AttestationError`` `platformNotAllowed`, `debugNotAllowed` or `measurementMismatch`.
    public static func checkNitroPolicy(_ checked: CheckedNitroDocument, policy: AttestationPolicy) throws {
        guard policy.allowedPlatforms.contains(.nitro) else {
            throw AttestationError(
                .platformNotAllowed, field: "platform", expected: policy.allowedPlatforms.map(\.rawValue).joined(separator: ", "),
                actual: EvidencePlatform.nitro.rawValue,
                "the policy does not allow nitro evidence; add it to `allowed_platforms` if you trust AWS Nitro")
        }
        if checked.isDebug, !policy.allowDebug {
            throw AttestationError(
                .debugNotAllowed, field: "PCR0", expected: "a non-zero enclave image measurement",
                actual: Hex.encode(checked.measurement),
                "the Nitro enclave runs in debug mode (PCR0 is all zeros), so the parent instance can read its "
                    + "console; run it without --debug-mode (or set `allow_debug` for development only)")
        }
        let measurementHex = Hex.encode(checked.measurement)
        guard policy.expectedMeasurementBytes.contains(where: { constantTimeEquals($0, checked.measurement) }) else {
            throw AttestationError(
                .measurementMismatch, field: "PCR0",
                expected: policy.expectedMeasurements.isEmpty ? "(none pinned)" : policy.expectedMeasurements.joined(separator: " or "),
                actual: measurementHex,
                "the enclave image's PCR0 \(measurementHex) is not in the policy's `expected_measurements`; pin it "
                    + "(`nitro-cli describe-eif` prints it) if you built and trust this image")
        }
    }
}
