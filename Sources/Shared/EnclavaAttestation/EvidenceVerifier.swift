import EnclavaCrypto
import Foundation

/// Turns ``Evidence`` into ``VerifiedEvidence`` (an Enclava enclave bound to this request) or
/// ``AttestedEvidence`` (any hardware evidence), or explains why it cannot.
///
/// ``verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)`` = ``verifyEvidence(_:policy:at:)``'s
/// attestation, then the report-data binding `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest) ‖
/// HPKE key`, then the policy with a pinned measurement and manifest digest. Attestation per platform:
/// * SEV-SNP: parse the report; find the VCEK or VLEK (evidence certificates, certificate table or cache);
///   the report signature (ECDSA P-384 / SHA-384); the chain VCEK ← ASK (or VLEK ← ASVK) ← ARK to an
///   embedded AMD ARK (``AMDRootCertificates``) or — only when the policy allows simulation — a pinned
///   simulated ARK; the VCEK's hwID and SPLs against CHIP_ID and REPORTED_TCB.
/// * TDX and SGX: evidence-formats.md §2–3 (see ``verifyTDX(quote:collateral:at:)``), with the collateral's
///   CRLs, TCB Info and QE Identity, which are **required**: the client's (``intelCollateral``), else what the
///   host relayed in ``Evidence/collateral``; without them the evidence is refused (`COLLATERAL_MISSING`).
public struct EvidenceVerifier: Sendable {
    /// Limits on host-supplied certificate lists.
    static let maxCertificates = 8
    static let maxCertificateBytes = 16 << 10
    /// The shortest nonce accepted (the protocol sends 32 bytes).
    public static let minimumNonceByteCount = 16

    /// Simulated roots the verifier trusts when the policy allows simulation and pins no fingerprint
    /// (normally the local `$ENCLAVA_HOME` ARK, ``SimulatedPlatform/ark``).
    public let simulatedRoots: [Certificate]
    /// The client's own Intel collateral (a file or a cache folder), used before what the host relays.
    public let intelCollateral: IntelCollateralSource
    /// Hardware vendor roots (AMD ARKs).
    let vendorRoots: [Certificate]

    /// Creates a verifier.
    /// - Parameters:
    ///   - simulatedRoots: simulated ARKs to trust when a policy allows simulation without pinning
    ///     `simulated_root_fingerprints`. Pass `[SimulatedPlatform.load(home:).ark]` for local runs.
    ///   - intelCollateral: the client's Intel collateral for TDX and SGX quotes (`--collateral`,
    ///     `--collateral-cache`); by default only the host's is used.
    public init(simulatedRoots: [Certificate] = [], intelCollateral: IntelCollateralSource = IntelCollateralSource()) {
        self.init(simulatedRoots: simulatedRoots, vendorRoots: AMDRootCertificates.all, intelCollateral: intelCollateral)
    }

    /// Creates a verifier with explicit vendor roots (tests use the AMD sample ARKs).
    init(simulatedRoots: [Certificate], vendorRoots: [Certificate],
         intelCollateral: IntelCollateralSource = IntelCollateralSource()) {
        self.simulatedRoots = simulatedRoots
        self.vendorRoots = vendorRoots
        self.intelCollateral = intelCollateral
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
        case .sevSNP, .tdx, .sgx:
            let attested = try attest(evidence, policy: policy, at: time)
            return try Self.bind(
                attested, nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey, policy: policy)
        case .nitro, .cca:
            // Nitro binds through `user_data` (Nitro/EvidenceVerifier+Nitro.swift), CCA through the realm
            // challenge (CCA/EvidenceVerifier+CCA.swift); otherwise as the others.
            let attested = try attest(evidence, policy: policy, at: time)
            return try Self.bind(
                attested, nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkePublicKey, policy: policy)
        case .psa:
            throw AttestationError(
                .unsupportedPlatform, field: "platform", expected: "sev-snp, tdx, sgx, nitro or cca", actual: "psa",
                "a PSA token attests a TrustZone-M platform, which cannot run the Enclava runtime; verify it with "
                    + "`enclava verify-evidence --platform psa`, but no session can be opened to it")
        }
    }
}
