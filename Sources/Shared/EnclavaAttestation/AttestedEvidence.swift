import EnclavaCrypto

/// Hardware evidence whose signatures and certificate chain ``EvidenceVerifier/verifyEvidence(_:policy:at:)``
/// has checked (and, with collateral, whose TCB status it computed) and which passed the policy — but whose
/// report data is **not** bound to anything: it proves what runs where, not that it answers you now. For an
/// Enclava enclave use ``EvidenceVerifier/verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)``, which adds
/// the binding and returns ``VerifiedEvidence``.
///
/// Only the verifier creates one (the initializer is internal).
public struct AttestedEvidence: Sendable {
    /// The platform that produced the evidence.
    public let platform: EvidencePlatform
    /// True when the chain ends in a **simulated** root: no hardware protects this enclave.
    public let isSimulated: Bool
    /// The primary measurement: SEV-SNP `MEASUREMENT` (48 bytes), TDX `MRTD` (48), SGX `MRENCLAVE` (32),
    /// Nitro PCR0 (48). This is what a policy's `expected_measurements` pins.
    public let measurement: [UInt8]
    /// The report data the platform signed (64 bytes for SNP, TDX, SGX; Nitro `user_data`).
    public let reportData: [UInt8]
    /// True when the platform says the enclave is debuggable (SNP POLICY.DEBUG, TD_ATTRIBUTES.DEBUG,
    /// SGX ATTRIBUTES.DEBUG, Nitro PCR0 all zeros).
    public let isDebug: Bool
    /// The field that says so, and its value, for messages.
    let debugField: String
    let debugValue: String
    /// SHA-384 of the evidence blob.
    public let evidenceDigest: [UInt8]
    /// SHA-256 fingerprint of the root the chain was verified to.
    public let rootFingerprint: [UInt8]
    /// Human-readable facts for display, in a stable order.
    public let claims: [(String, String)]
    /// The SEV-SNP report, for SNP evidence.
    public let snpReport: SNPReport?
    /// The SPLs of the SNP `REPORTED_TCB` (the TCB the VCEK or VLEK certifies), decoded for the processor.
    public let snpTCB: SNPTCBLevels?
    /// The checked TDX quote, for TDX evidence.
    public let tdxQuote: CheckedTDXQuote?
    /// The checked SGX quote, for SGX evidence.
    public let sgxQuote: CheckedSGXQuote?
    /// Intel TCB status and advisories; nil without collateral or for other platforms.
    public let tcb: TCBEvaluation?
    /// Nitro PCRs by index (empty for other platforms).
    public let pcrs: [Int: [UInt8]]
    /// The checked Arm CCA or PSA token, for those platforms.
    public let armToken: CheckedArmToken?

    init(
        platform: EvidencePlatform, isSimulated: Bool, measurement: [UInt8], reportData: [UInt8], isDebug: Bool,
        debugField: String, debugValue: String, evidenceDigest: [UInt8], rootFingerprint: [UInt8],
        claims: [(String, String)], snpReport: SNPReport? = nil, snpTCB: SNPTCBLevels? = nil,
        tdxQuote: CheckedTDXQuote? = nil, sgxQuote: CheckedSGXQuote? = nil, tcb: TCBEvaluation? = nil,
        pcrs: [Int: [UInt8]] = [:], armToken: CheckedArmToken? = nil
    ) {
        self.platform = platform
        self.isSimulated = isSimulated
        self.measurement = measurement
        self.reportData = reportData
        self.isDebug = isDebug
        self.debugField = debugField
        self.debugValue = debugValue
        self.evidenceDigest = evidenceDigest
        self.rootFingerprint = rootFingerprint
        self.claims = claims
        self.snpReport = snpReport
        self.snpTCB = snpTCB
        self.tdxQuote = tdxQuote
        self.sgxQuote = sgxQuote
        self.tcb = tcb
        self.pcrs = pcrs
        self.armToken = armToken
    }

    /// The measurement in lower-case hex.
    public var measurementHex: String { Hex.encode(measurement) }
}

/// The security patch levels of an SEV-SNP `TCB_VERSION`, read in the layout of the processor that made it
/// (Milan/Genoa, or Turin with its FMC SPL).
public struct SNPTCBLevels: Sendable, Equatable, CustomStringConvertible {
    /// Boot loader SPL.
    public var bootLoader: UInt8
    /// TEE (PSP OS) SPL.
    public var tee: UInt8
    /// SNP firmware SPL.
    public var snp: UInt8
    /// Microcode SPL.
    public var microcode: UInt8
    /// FMC SPL (Turin only).
    public var fmc: UInt8?

    /// Reads `tcb` in the Turin layout when `isTurin`, else the Milan/Genoa one.
    public init(_ tcb: TCBVersion, isTurin: Bool) {
        if isTurin {
            (bootLoader, tee, snp, microcode, fmc) = (tcb.turinBootLoader, tcb.turinTEE, tcb.turinSNP, tcb.microcode, tcb.turinFMC)
        } else {
            (bootLoader, tee, snp, microcode, fmc) = (tcb.bootLoader, tcb.tee, tcb.snp, tcb.microcode, nil)
        }
    }

    /// `bl=2 tee=0 snp=5 ucode=68` (and `fmc=…` on Turin).
    public var description: String {
        "bl=\(bootLoader) tee=\(tee) snp=\(snp) ucode=\(microcode)" + (fmc.map { " fmc=\($0)" } ?? "")
    }
}

extension AttestedEvidence {
    /// The same attested evidence with other report data (tests of the steps after attestation).
    func replacingReportData(_ reportData: [UInt8]) -> AttestedEvidence {
        AttestedEvidence(
            platform: platform, isSimulated: isSimulated, measurement: measurement, reportData: reportData,
            isDebug: isDebug, debugField: debugField, debugValue: debugValue, evidenceDigest: evidenceDigest,
            rootFingerprint: rootFingerprint, claims: claims, snpReport: snpReport, snpTCB: snpTCB, tdxQuote: tdxQuote,
            sgxQuote: sgxQuote, tcb: tcb, pcrs: pcrs, armToken: armToken)
    }
}
