import EnclavaCrypto
import Foundation

extension EvidenceVerifier {
    /// Verifies hardware evidence **without** the Enclava report-data binding: for any SEV-SNP report, TDX or
    /// SGX quote (or Nitro document), e.g. `enclava verify-evidence`.
    ///
    /// Checks, in order: the platform is allowed; the evidence's signatures and certificate chain to a pinned
    /// vendor root (AMD ARK-Milan/Genoa/Turin, Intel SGX Root CA) at `time`, using the certificates and
    /// ``Evidence/collateral`` (SNP certificate table or cached certificates; Intel TCB Info, QE Identity and
    /// CRLs — required for TDX and SGX, from the verifier's ``intelCollateral`` or the evidence — which also give
    /// the TCB status); the SNP VCEK's hwID and SPLs against CHIP_ID and REPORTED_TCB;
    /// then the policy (debug, measurement pins, minimum TCB, allowed TCB statuses). Empty pins are not checked.
    ///
    /// - Parameters:
    ///   - evidence: the evidence (untrusted), with the collateral the host relayed, if any.
    ///   - policy: what to accept; ``AttestationPolicy/hardware(_:)`` accepts any non-debug hardware evidence.
    ///   - time: when certificates, CRLs and collateral must be valid (pass the recording time for old samples).
    /// - Returns: the attested claims. Their report data is not bound to any request.
    /// - Throws: ``AttestationError`` naming the first check that failed.
    public func verifyEvidence(_ evidence: Evidence, policy: AttestationPolicy, at time: Date = Date()) throws -> AttestedEvidence {
        try policy.checkPlatform(evidence.platform)
        let attested = try attest(evidence, policy: policy, at: time)
        try policy.check(attested)
        return attested
    }

    /// Signatures, chain and (Intel: collateral and) TCB status; no policy beyond the simulation rules.
    func attest(_ evidence: Evidence, policy: AttestationPolicy, at time: Date) throws -> AttestedEvidence {
        switch evidence.platform {
        case .sevSNP:
            return try attestSNP(evidence, policy: policy, at: time)
        case .tdx:
            let anchors = try intelAnchors(evidence, policy: policy)
            let checked = try Self.verifyTDX(
                quote: evidence.blob, collateral: evidence.collateral?.quote, client: intelCollateral,
                trustAnchors: anchors, at: time)
            return AttestedEvidence(
                platform: .tdx, isSimulated: Self.isSimulatedIntel(checked.root), measurement: checked.mrTD,
                reportData: checked.reportData, isDebug: checked.isDebug, debugField: "TD_ATTRIBUTES",
                debugValue: Hex.encode(checked.tdAttributes), evidenceDigest: SHA2.sha384(evidence.blob),
                rootFingerprint: checked.root.sha256Fingerprint, claims: Self.intelClaims(checked.claims, root: checked.root), tdxQuote: checked,
                tcb: checked.tcb)
        case .sgx:
            let anchors = try intelAnchors(evidence, policy: policy)
            let checked = try Self.verifySGX(
                quote: evidence.blob, collateral: evidence.collateral?.quote, client: intelCollateral,
                trustAnchors: anchors, at: time)
            return AttestedEvidence(
                platform: .sgx, isSimulated: Self.isSimulatedIntel(checked.root), measurement: checked.mrEnclave,
                reportData: checked.reportData, isDebug: checked.isDebug, debugField: "ATTRIBUTES",
                debugValue: Hex.encode(checked.attributes), evidenceDigest: SHA2.sha384(evidence.blob),
                rootFingerprint: checked.root.sha256Fingerprint, claims: Self.intelClaims(checked.claims, root: checked.root), sgxQuote: checked,
                tcb: checked.tcb)
        case .nitro:
            return try attestNitro(evidence, at: time)
        case .cca, .psa:
            return try attestArm(evidence, policy: policy)
        }
    }

    func attestSNP(_ evidence: Evidence, policy: AttestationPolicy, at time: Date) throws -> AttestedEvidence {
        let checked = try verifySNPSignatureAndChain(evidence, policy: policy, at: time)
        let report = checked.report
        if !checked.isSimulated, let product = Self.snpProduct(family: report.cpuidFamily, model: report.cpuidModel),
            report.version >= 3, let rootName = checked.root.subjectCommonName, rootName != "ARK-\(product)"
        {
            throw AttestationError(
                .certificateChainInvalid, field: "CPUID_FAM_ID/CPUID_MOD_ID", expected: rootName,
                actual: "ARK-\(product) (family 0x\(String(report.cpuidFamily, radix: 16)) model 0x\(String(report.cpuidModel, radix: 16)))",
                "the report comes from an AMD \(product) processor but its key chains to \(rootName); send the "
                    + "\(product) VCEK or VLEK chain")
        }
        let levels = SNPTCBLevels(report.reportedTCB, isTurin: checked.isTurin)
        var claims = checked.claims(platform: .sevSNP)
        if levels.fmc != nil { claims.insert(("reported tcb (Turin)", levels.description), at: min(claims.count, 8)) }
        return AttestedEvidence(
            platform: .sevSNP, isSimulated: checked.isSimulated, measurement: report.measurement,
            reportData: report.reportData, isDebug: report.policy.isDebug, debugField: "POLICY",
            debugValue: report.policy.description, evidenceDigest: SHA2.sha384(evidence.blob),
            rootFingerprint: checked.root.sha256Fingerprint, claims: claims, snpReport: report, snpTCB: levels)
    }

    /// The AMD product of a v3+ report's CPUID (evidence-formats.md §1): Milan (family 0x19, models 0x00–0x0F),
    /// Genoa family (0x19, 0x10–0x1F and 0xA0–0xAF: Genoa, Bergamo, Siena), Turin (family 0x1A). Nil when unknown
    /// (e.g. zero in v2 reports), in which case the chain alone decides.
    static func snpProduct(family: UInt8, model: UInt8) -> String? {
        switch (family, model) {
        case (0x19, 0x00...0x0F): "Milan"
        case (0x19, 0x10...0x1F), (0x19, 0xA0...0xAF): "Genoa"
        case (0x1A, _): "Turin"
        default: nil
        }
    }

    /// The roots an Intel quote may chain to under `policy`: Intel's, or pinned simulated ones under
    /// `allow_simulation` (``intelTrustAnchors(quote:platform:policy:)``).
    func intelAnchors(_ evidence: Evidence, policy: AttestationPolicy) throws -> [Certificate] {
        try intelTrustAnchors(quote: evidence.blob, platform: evidence.platform, policy: policy)
    }

    /// Whether the Intel root a chain was verified to is a simulated one.
    static func isSimulatedIntel(_ root: Certificate) -> Bool { !IntelRootCertificates.all.contains(root) }

    /// AWS Nitro: ``verifyNitro(document:at:)``; the measurement is PCR0, the report data `user_data`, the PCRs
    /// are kept for `expected_pcrs`, and PCR0 all zeros is debug mode.
    func attestNitro(_ evidence: Evidence, at time: Date) throws -> AttestedEvidence {
        let checked = try verifyNitro(document: evidence.blob, at: time)
        return AttestedEvidence(
            platform: .nitro, isSimulated: false, measurement: checked.measurement,
            reportData: checked.document.userData ?? [], isDebug: checked.isDebug, debugField: "PCR0",
            debugValue: Hex.encode(checked.measurement), evidenceDigest: SHA2.sha384(evidence.blob),
            rootFingerprint: checked.root.sha256Fingerprint, claims: checked.claims, pcrs: checked.document.pcrs)
    }
}

extension EvidenceVerifier {
    /// ``verifyEvidence(_:policy:at:)`` with collateral given beside the evidence (it replaces
    /// ``Evidence/collateral``).
    public func verifyEvidence(
        _ evidence: Evidence, policy: AttestationPolicy, at time: Date = Date(), collateral: EvidenceCollateral?
    ) throws -> AttestedEvidence {
        var evidence = evidence
        evidence.collateral = collateral
        return try verifyEvidence(evidence, policy: policy, at: time)
    }
}
