import EnclavaCrypto
/// Evidence that ``EvidenceVerifier`` has checked: signature, certificate chain to a trusted root, report
/// data binding and policy. Only the verifier can create one (the initializer is internal), so holding a
/// `VerifiedEvidence` is proof that the checks ran; an encrypted session can only be opened to one.
public struct VerifiedEvidence: Sendable {
    /// The platform that produced the evidence.
    public let platform: EvidencePlatform
    /// True when the chain ends in a **simulated** root: no hardware protects this enclave.
    public let isSimulated: Bool
    /// The enclave's measurement (SEV-SNP `MEASUREMENT`, TDX `MRTD`, SGX `MRENCLAVE`, Nitro PCR0).
    public let measurement: [UInt8]
    /// The 64 bytes of report data the platform signed.
    public let reportData: [UInt8]
    /// The manifest digest the report data binds (48 bytes).
    public let manifestDigest: [UInt8]
    /// The enclave's X25519 HPKE public key the report data binds (32 bytes).
    public let hpkePublicKey: [UInt8]
    /// SHA-384 of the evidence blob; part of the HPKE `info` (DESIGN.md §3).
    public let evidenceDigest: [UInt8]
    /// SHA-256 fingerprint of the root certificate the chain was verified to.
    public let rootFingerprint: [UInt8]
    /// Human-readable facts for display (version, policy, TCB, chip id, signer, root…), in a stable order.
    public let claims: [(String, String)]
    /// Everything the hardware attested (typed per platform); nil only for evidence verified by an older path.
    public let attested: AttestedEvidence?

    /// Binds attested evidence to the manifest digest and HPKE key its report data was checked against.
    init(_ attested: AttestedEvidence, manifestDigest: [UInt8], hpkePublicKey: [UInt8]) {
        self.init(
            platform: attested.platform, isSimulated: attested.isSimulated, measurement: attested.measurement,
            reportData: attested.reportData, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey,
            evidenceDigest: attested.evidenceDigest, rootFingerprint: attested.rootFingerprint,
            claims: attested.claims, attested: attested)
    }

    init(
        platform: EvidencePlatform, isSimulated: Bool, measurement: [UInt8], reportData: [UInt8],
        manifestDigest: [UInt8], hpkePublicKey: [UInt8], evidenceDigest: [UInt8], rootFingerprint: [UInt8],
        claims: [(String, String)], attested: AttestedEvidence? = nil
    ) {
        self.platform = platform
        self.isSimulated = isSimulated
        self.measurement = measurement
        self.reportData = reportData
        self.manifestDigest = manifestDigest
        self.hpkePublicKey = hpkePublicKey
        self.evidenceDigest = evidenceDigest
        self.rootFingerprint = rootFingerprint
        self.claims = claims
        self.attested = attested
    }

    /// The measurement in lower-case hex.
    public var measurementHex: String { Hex.encode(measurement) }
    /// The manifest digest in lower-case hex.
    public var manifestDigestHex: String { Hex.encode(manifestDigest) }
}
