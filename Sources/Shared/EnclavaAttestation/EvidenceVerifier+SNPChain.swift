import EnclavaCrypto
import Foundation

/// Where the SNP certificate chain comes from, and its verification to an AMD ARK (or a pinned simulated root).
extension EvidenceVerifier {
    /// Largest number of cached certificates considered.
    static let maxCachedCertificates = 64

    /// The chain to verify, leaf first, and further untrusted intermediates (cached ASKs).
    ///
    /// 1. `evidence.certificates`, when present, must be in order: leaf (VCEK or VLEK), ASK or ASVK, ARK.
    /// 2. Otherwise the leaf is the certificate table's VCEK or VLEK (whichever the report's SIGNING_KEY names),
    ///    with the table's ASK and ARK after it.
    /// 3. Otherwise the leaf is the cached certificate (`collateral.certificates`) that is a VCEK or VLEK of the
    ///    right kind and whose hwID and SPLs match the report's CHIP_ID and REPORTED_TCB.
    static func snpCertificates(_ evidence: Evidence, report: SNPReport) throws -> ([Certificate], [Certificate]) {
        let cached = try parseCertificates(
            evidence.collateral?.certificates ?? [], field: "collateral.certificates", limit: maxCachedCertificates)
        let extra = cached.filter(\.isCA)
        if !evidence.certificates.isEmpty {
            let certificates = try parseCertificates(evidence.certificates, field: "certificates", limit: maxCertificates)
            try checkOrder(certificates)
            return (certificates, extra)
        }
        var table = SNPCertificates()
        if let bytes = evidence.collateral?.snpCertificateTable {
            table = try SNPCertificates(certificateTable: bytes)
        }
        let tableCertificates = try parseCertificates(
            [table.ask, table.ark].compactMap { $0 }, field: "certificate table", limit: 2)
        if let leafDER = table.leaf(for: report.signingKey) ?? table.vcek ?? table.vlek {
            let leaf = try parseCertificates([leafDER], field: "certificate table VCEK/VLEK", limit: 1)
            return (leaf + tableCertificates, extra)
        }
        let wantVLEK = report.signingKey == .vlek
        let ofKind = cached.filter {
            !$0.isCA && ($0.subjectCommonName?.hasPrefix("SEV-VLEK") ?? false) == wantVLEK
        }
        let matching = ofKind.filter { (try? VCEKExtensions($0).check(against: report, leafName: "")) != nil }
        // Prefer the certificate for this chip and TCB that signed the report; else one that signed it (its
        // TCB check then fails by name); else the only key of its kind (its signature check then fails).
        let leaf = matching.first { isSignatureValid(report, evidence.blob, $0) }
            ?? ofKind.first { isSignatureValid(report, evidence.blob, $0) }
            ?? matching.first ?? (Set(ofKind.map(\.subjectPublicKeyInfoDER)).count == 1 ? ofKind.first : nil)
        guard let leaf else {
            let what = wantVLEK ? "VLEK (from your cloud provider)" : "VCEK for this chip and TCB (\(kdsURL(for: report)))"
            throw AttestationError(
                .certificateChainInvalid, field: wantVLEK ? "VLEK" : "VCEK",
                expected: "REPORTED_TCB \(report.reportedTCB)", actual: "no matching certificate",
                "the evidence carries no certificates and none of the \(cached.count) given certificates is the "
                    + "\(what); pass it with --certs (or send the extended report's certificate table)")
        }
        return ([leaf] + tableCertificates, extra)
    }

    private static func isSignatureValid(_ report: SNPReport, _ blob: [UInt8], _ leaf: Certificate) -> Bool {
        (try? checkSignature(report: report, blob: blob, leaf: leaf)) != nil
    }

    static func parseCertificates(_ ders: [[UInt8]]) throws -> [Certificate] {
        try parseCertificates(ders, field: "certificates", limit: maxCertificates)
    }

    static func parseCertificates(_ ders: [[UInt8]], field: String, limit: Int) throws -> [Certificate] {
        guard ders.count <= limit else {
            throw AttestationError(
                .malformedEvidence, field: field, expected: "at most \(limit)",
                actual: "\(ders.count)", "the evidence carries too many certificates")
        }
        return try ders.enumerated().map { index, der in
            guard der.count <= maxCertificateBytes else {
                throw AttestationError(
                    .malformedEvidence, field: "\(field)[\(index)]", expected: "at most \(maxCertificateBytes) bytes",
                    actual: "\(der.count) bytes", "certificate \(index) of the evidence is too large")
            }
            do {
                return try Certificate(derRepresentation: der)
            } catch {
                throw AttestationError(
                    .malformedEvidence, field: "\(field)[\(index)]",
                    "certificate \(index) of the evidence is not valid DER X.509 (\(error)); the evidence is corrupt")
            }
        }
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

    /// Chooses the trust anchors (an embedded AMD ARK, or a pinned simulated root) and verifies the chain.
    ///
    /// A chain whose last certificate is self-signed names its root: it must be an AMD ARK byte for byte, or,
    /// under `allow_simulation`, a pinned simulated ARK. A chain without its root is verified to the AMD ARKs
    /// (with the embedded ASKs and ASVKs available as intermediates) unless it is a simulated one.
    func verifyChain(
        _ certificates: [Certificate], extraIntermediates: [Certificate] = [], policy: AttestationPolicy, at time: Date
    ) throws -> (root: Certificate, isSimulated: Bool) {
        let leaf = certificates[0]
        // A self-issued last certificate claims to be the root (whether or not its signature still verifies).
        let presentedRoot = certificates.count > 1 && certificates.last!.subject == certificates.last!.issuer
            ? certificates.last : nil
        let intermediates = Array(certificates.dropFirst().filter { $0.subject != $0.issuer })
        let fingerprint = presentedRoot?.sha256Fingerprint
        let looksSimulated = certificates.contains { SimulatedPlatform.isSimulatedSubject($0.subject) }
        // VCEK ← ASK ← ARK: one intermediate at most, so that no presented certificate goes unchecked.
        guard intermediates.count <= 1 else {
            throw AttestationError(
                .certificateChainInvalid, field: "certificates[\(certificates.count - 1)]", expected: "a self-signed ARK",
                actual: certificates.last!.subject,
                "an SEV-SNP chain is VCEK (or VLEK), ASK (or ASVK), ARK; this one has \(intermediates.count) "
                    + "intermediates, so its last certificate is not a root — it is damaged or not an AMD chain")
        }
        // Presented intermediates must verify themselves; only a chain without one borrows the known ASKs.
        let known = intermediates.isEmpty
            ? extraIntermediates.filter { $0.subject != $0.issuer } + AMDIntermediateCertificates.all : intermediates

        let isVendorRoot = fingerprint.map { fp in vendorRoots.contains { $0.sha256Fingerprint == fp } } ?? false
        if isVendorRoot || (presentedRoot == nil && !looksSimulated && !vendorRoots.isEmpty) {
            return (try Self.chain(leaf, known, vendorRoots, time), false)
        }
        guard policy.allowSimulation else {
            if looksSimulated {
                throw AttestationError(
                    .simulationNotAllowed, field: "certificates",
                    actual: presentedRoot?.subject ?? leaf.issuer,
                    "this is simulated evidence (no hardware protects the enclave) and the policy does not "
                        + "allow simulation; use a hardware TEE, or set `allow_simulation` for local testing")
            }
            throw AttestationError(
                .untrustedRoot, field: "ARK",
                expected: AMDRootCertificates.fingerprints.map(\.sha256).joined(separator: " or "),
                actual: fingerprint.map(Hex.encode) ?? leaf.issuer,
                "the evidence chains to \"\(presentedRoot?.subjectCommonName ?? leaf.issuer)\", which is not one of "
                    + "AMD's pinned roots (ARK-Milan, ARK-Genoa, ARK-Turin); do not trust this enclave")
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
        var issuer = leaf.issuer
        for _ in intermediates.indices {
            guard let next = intermediates.first(where: { $0.subject == issuer && $0.issuer != $0.subject }) else { break }
            issuer = next.issuer
        }
        return anchors.first { $0.subject == issuer } ?? anchors[0]
    }
}
