import EnclavaCrypto
import Foundation

/// An SNP report whose signature, certificate chain and VCEK binding have been checked (steps 1–3).
struct CheckedSNPReport {
    let report: SNPReport
    let leaf: Certificate
    let root: Certificate
    let isSimulated: Bool
}

extension EvidenceVerifier {
    /// Steps 1–3 for SEV-SNP: parse, report signature, chain to a trusted root, VCEK extensions.
    func verifySNPSignatureAndChain(
        _ evidence: Evidence, policy: AttestationPolicy, at time: Date
    ) throws -> CheckedSNPReport {
        let report = try SNPReport(parsing: evidence.blob)
        let certificates = try Self.parseCertificates(evidence.certificates)
        let leaf = certificates[0]
        try Self.checkSignature(report: report, blob: evidence.blob, leaf: leaf)
        try Self.checkOrder(certificates)
        let (root, isSimulated) = try verifyChain(certificates, policy: policy, at: time)
        try Self.checkReportFields(report)
        try VCEKExtensions(leaf).check(against: report, leafName: leaf.subject)
        return CheckedSNPReport(report: report, leaf: leaf, root: root, isSimulated: isSimulated)
    }

    static func parseCertificates(_ ders: [[UInt8]]) throws -> [Certificate] {
        guard !ders.isEmpty else {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates", expected: "VCEK, ASK, ARK", actual: "none",
                "the evidence carries no certificates; the enclave must send its VCEK (and ASK, ARK)")
        }
        guard ders.count <= maxCertificates else {
            throw AttestationError(
                .malformedEvidence, field: "certificates", expected: "at most \(maxCertificates)",
                actual: "\(ders.count)", "the evidence carries too many certificates")
        }
        return try ders.enumerated().map { index, der in
            guard der.count <= maxCertificateBytes else {
                throw AttestationError(
                    .malformedEvidence, field: "certificates[\(index)]", expected: "at most \(maxCertificateBytes) bytes",
                    actual: "\(der.count) bytes", "certificate \(index) of the evidence is too large")
            }
            do {
                return try Certificate(derRepresentation: der)
            } catch {
                throw AttestationError(
                    .malformedEvidence, field: "certificates[\(index)]",
                    "certificate \(index) of the evidence is not valid DER X.509 (\(error)); the evidence is corrupt")
            }
        }
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

    /// Certificates must come leaf first, each followed by its issuer (VCEK, ASK, ARK).
    static func checkOrder(_ certificates: [Certificate]) throws {
        for index in certificates.indices.dropLast() where certificates[index].issuer != certificates[index + 1].subject {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates[\(index + 1)]",
                expected: certificates[index].issuer, actual: certificates[index + 1].subject,
                "certificate \(index + 1) is not the issuer of certificate \(index); send the chain leaf first "
                    + "(VCEK, ASK, ARK)")
        }
    }

    /// Chooses the trust anchors (vendor, or pinned simulated) and verifies the chain to them.
    func verifyChain(
        _ certificates: [Certificate], policy: AttestationPolicy, at time: Date
    ) throws -> (root: Certificate, isSimulated: Bool) {
        let leaf = certificates[0]
        let presentedRoot = certificates.count > 1 && certificates.last!.isSelfSigned ? certificates.last : nil
        let intermediates = Array(certificates.dropFirst().filter { !$0.isSelfSigned })
        let fingerprint = presentedRoot?.sha256Fingerprint

        let isVendorRoot = fingerprint.map { fp in vendorRoots.contains { $0.sha256Fingerprint == fp } } ?? false
        if isVendorRoot {
            return (try Self.chain(leaf, intermediates, vendorRoots, time), false)
        }
        if presentedRoot == nil, !vendorRoots.isEmpty, let root = try? Self.chain(leaf, intermediates, vendorRoots, time) {
            return (root, false)
        }

        let looksSimulated = certificates.contains { SimulatedPlatform.isSimulatedSubject($0.subject) }
        guard policy.allowSimulation else {
            if looksSimulated {
                throw AttestationError(
                    .simulationNotAllowed, field: "certificates",
                    actual: presentedRoot?.subject ?? leaf.issuer,
                    "this is simulated evidence (no hardware protects the enclave) and the policy does not "
                        + "allow simulation; use a hardware TEE, or set `allow_simulation` for local testing")
            }
            throw AttestationError(
                .untrustedRoot, field: "certificates", actual: presentedRoot?.subject ?? leaf.issuer,
                "the evidence does not chain to a known AMD root; do not trust this enclave")
        }
        let pinned = policy.simulatedRootFingerprints.isEmpty
            ? simulatedRoots.map(\.sha256Fingerprint) : policy.simulatedRootFingerprintBytes
        guard !pinned.isEmpty else {
            throw AttestationError(
                .untrustedRoot, field: "simulated_root_fingerprints", actual: fingerprint.map(Hex.encode),
                "no simulated root is trusted: pin the simulated ARK's fingerprint in "
                    + "`simulated_root_fingerprints`, or run where `enclava sim init` made the local one")
        }
        if let fingerprint, !pinned.contains(fingerprint) {
            throw AttestationError(
                .untrustedRoot, field: "ARK", expected: pinned.map(Hex.encode).joined(separator: " or "),
                actual: Hex.encode(fingerprint),
                "the evidence chains to a simulated root that is not pinned (another machine's simulator?); "
                    + "add its fingerprint to `simulated_root_fingerprints` only if you trust that simulator")
        }
        var anchors = simulatedRoots.filter { pinned.contains($0.sha256Fingerprint) }
        if let presentedRoot, pinned.contains(presentedRoot.sha256Fingerprint) { anchors.append(presentedRoot) }
        guard !anchors.isEmpty else {
            throw AttestationError(
                .untrustedRoot, field: "ARK", expected: pinned.map(Hex.encode).joined(separator: " or "),
                "the evidence does not include its root and no pinned simulated root is available here")
        }
        return (try Self.chain(leaf, intermediates, anchors, time), true)
    }

    /// Verifies the chain and returns the anchor it ends in.
    static func chain(
        _ leaf: Certificate, _ intermediates: [Certificate], _ anchors: [Certificate], _ time: Date
    ) throws -> Certificate {
        do {
            try CertificateChain.verify(leaf: leaf, intermediates: intermediates, trustAnchors: anchors, at: time)
        } catch {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates",
                "the certificate chain of the evidence does not verify at \(time): \(error); "
                    + "the certificates are wrong, expired or not issued by the trusted root")
        }
        let issuerName = intermediates.last?.issuer ?? leaf.issuer
        return anchors.first { $0.subject == issuerName } ?? anchors[0]
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
}
