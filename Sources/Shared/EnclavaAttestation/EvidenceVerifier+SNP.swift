import EnclavaCrypto
import Foundation

/// An SNP report whose signature, certificate chain and VCEK binding have been checked (steps 1–3).
struct CheckedSNPReport {
    let report: SNPReport
    let leaf: Certificate
    let root: Certificate
    let isSimulated: Bool

    /// Whether the report comes from a Turin part (its `TCB_VERSION` layout differs).
    var isTurin: Bool { VCEKExtensions(leaf).isTurin || (report.version >= 3 && report.cpuidFamily == 0x1A) }
}

extension EvidenceVerifier {
    /// Steps 1–3 for SEV-SNP: parse; find the VCEK or VLEK (from the evidence's certificates, its certificate
    /// table, or cached certificates); the report signature; the report's fixed fields; the signing key kind;
    /// the chain to a trusted root; the VCEK extensions against CHIP_ID and REPORTED_TCB.
    func verifySNPSignatureAndChain(
        _ evidence: Evidence, policy: AttestationPolicy, at time: Date
    ) throws -> CheckedSNPReport {
        let report = try SNPReport(parsing: evidence.blob)
        let (certificates, extra) = try Self.snpCertificates(evidence, report: report)
        let leaf = certificates[0]
        try Self.checkSignature(report: report, blob: evidence.blob, leaf: leaf)
        try Self.checkReportFields(report)
        try Self.checkSigningKey(report: report, leaf: leaf)
        let (root, isSimulated) = try verifyChain(certificates, extraIntermediates: extra, policy: policy, at: time)
        try VCEKExtensions(leaf).check(against: report, leafName: leaf.subject)
        return CheckedSNPReport(report: report, leaf: leaf, root: root, isSimulated: isSimulated)
    }

    /// The report signature: ECDSA P-384 / SHA-384 over bytes 0..<0x2A0 of the blob as received,
    /// R and S little-endian in 72-byte fields of which only the low 48 bytes may be non-zero.
    static func checkSignature(report: SNPReport, blob: [UInt8], leaf: Certificate) throws {
        let key: ECDSAPublicKey
        do {
            key = try ECDSAPublicKey(spkiDER: leaf.subjectPublicKeyInfoDER)
        } catch {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates[0]", expected: "an EC P-384 VCEK or VLEK",
                actual: leaf.subject,
                "the first certificate must be the VCEK (or VLEK) with an EC P-384 key; the certificates are "
                    + "out of order or not an SEV-SNP chain")
        }
        guard key.curve == .p384 else {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates[0]", expected: "EC P-384", actual: "\(key.curve)",
                "the VCEK must hold a P-384 key")
        }
        let invalid = AttestationError(
            .signatureInvalid, field: "SIGNATURE",
            "the report signature does not verify under \(leaf.subject); the report was altered or signed "
                + "by another key — do not trust this enclave")
        guard let signature = report.signature,
            key.isValidSignature(signature, for: Array(blob[0..<SNPReport.signedByteCount]), digest: .sha384)
        else { throw invalid }
    }

    /// The report's SIGNING_KEY must name the kind of key that signed it: a VCEK (issued by an ASK) or a VLEK
    /// (issued by an ASVK, CN `SEV-VLEK`).
    static func checkSigningKey(report: SNPReport, leaf: Certificate) throws {
        let leafIsVLEK = leaf.subjectCommonName?.hasPrefix("SEV-VLEK") ?? false
        let expected: SNPReport.SigningKey = leafIsVLEK ? .vlek : .vcek
        guard report.signingKey == expected else {
            throw AttestationError(
                .certificateChainInvalid, field: "SIGNER_INFO.SIGNING_KEY", expected: "\(expected)",
                actual: "\(report.signingKey)",
                "the report says it was signed by a \(report.signingKey) but the signing certificate is a "
                    + "\(expected); send the \(report.signingKey) certificate (and its \(report.signingKey == .vlek ? "ASVK" : "ASK"))")
        }
    }

    /// Values the format requires, checked once the signature shows they come from the firmware.
    static func checkReportFields(_ report: SNPReport) throws {
        guard (2...5).contains(report.version) else {
            throw AttestationError(
                .malformedEvidence, field: "VERSION", expected: "2...5", actual: "\(report.version)",
                "unsupported SNP report version \(report.version)")
        }
        guard report.signatureAlgorithm == SNPReport.ecdsaP384SHA384 else {
            throw AttestationError(
                .malformedEvidence, field: "SIGNATURE_ALGO", expected: "1", actual: "\(report.signatureAlgorithm)",
                "unsupported report signature algorithm \(report.signatureAlgorithm)")
        }
        guard report.signatureReserved.allSatisfy({ $0 == 0 }) else {
            throw AttestationError(
                .malformedEvidence, field: "SIGNATURE_RESERVED", expected: "zero",
                "bytes 0x330..<0x4A0 of the report must be zero; the unsigned part of the report was altered")
        }
        switch report.signingKey {
        case .vcek, .vlek: break
        case .none, .unknown:
            throw AttestationError(
                .malformedEvidence, field: "SIGNER_INFO", expected: "VCEK or VLEK", actual: "\(report.signingKey)",
                "the report does not say it was signed by a VCEK or VLEK")
        }
    }

    /// The AMD KDS address of the VCEK for this report (for messages).
    static func kdsURL(for report: SNPReport, product: String = "Milan") -> String {
        let t = report.reportedTCB
        return "https://kdsintf.amd.com/vcek/v1/\(product)/\(Hex.encode(report.chipID))"
            + "?blSPL=\(t.bootLoader)&teeSPL=\(t.tee)&snpSPL=\(t.snp)&ucodeSPL=\(t.microcode)"
    }
}
