import EnclavaCrypto

/// The Enclava steps after attestation: the report-data binding, then the policy with its Enclava pins.
extension EvidenceVerifier {
    /// Checks that `attested` binds this request (`SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest)`
    /// in report data 0..<32, the HPKE key in 32..<64), then the policy, then that a measurement and the
    /// manifest digest are pinned and match.
    static func bind(
        _ attested: AttestedEvidence, nonce: [UInt8], manifestDigest: [UInt8], hpkePublicKey: [UInt8],
        policy: AttestationPolicy
    ) throws -> VerifiedEvidence {
        let field = switch attested.platform {
        case .sevSNP: "REPORT_DATA"
        case .nitro: "user_data"
        case .cca: "realm.challenge"
        case .psa: "psa.challenge"
        case .tdx, .sgx: "REPORTDATA"
        }
        guard attested.reportData.count == ReportData.byteCount else {
            throw AttestationError(
                .reportDataMismatch, field: field, expected: "\(ReportData.byteCount) bytes",
                actual: "\(attested.reportData.count) bytes",
                "the evidence does not carry Enclava report data (binding ‖ HPKE key); this is not an Enclava "
                    + "enclave or it did not bind this request")
        }
        let expectedBinding = ReportData.binding(nonce: nonce, manifestDigest: manifestDigest)
        let actualBinding = Array(attested.reportData[0..<32])
        guard constantTimeEquals(actualBinding, expectedBinding) else {
            throw AttestationError(
                .reportDataMismatch, field: "\(field)[0..<32]", expected: Hex.encode(expectedBinding),
                actual: Hex.encode(actualBinding),
                "the evidence does not bind this request's nonce and manifest digest (a replayed or "
                    + "substituted answer); ask again with a fresh nonce and do not trust this enclave")
        }
        let boundKey = Array(attested.reportData[32..<64])
        guard hpkePublicKey.count == ReportData.hpkePublicKeyByteCount, constantTimeEquals(boundKey, hpkePublicKey)
        else {
            throw AttestationError(
                .hpkeKeyMismatch, field: "\(field)[32..<64]", expected: Hex.encode(boundKey),
                actual: Hex.encode(hpkePublicKey),
                "the HPKE key sent with the evidence is not the key the enclave's evidence vouches for; "
                    + "something between you and the enclave substituted it, so do not send it anything")
        }
        try policy.check(attested)
        try policy.checkEnclavaPins(attested, manifestDigest: manifestDigest)
        return VerifiedEvidence(attested, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey)
    }
}
