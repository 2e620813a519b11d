import EnclavaCrypto
import Foundation

extension EvidenceVerifier {
    /// The roots an Intel quote's PCK chain may end in, under `policy` — the same rules as for simulated
    /// SEV-SNP evidence:
    ///
    /// * a chain that ends in Intel's real root, or carries no root: Intel's roots (plus, when the policy
    ///   allows simulation, the pinned simulated roots this verifier holds);
    /// * a chain that ends in another self-signed root: only when the policy allows simulation, and only if
    ///   that root is pinned — by `simulated_root_fingerprints`, or, when the policy pins none, by being one
    ///   of ``simulatedRoots``. Otherwise `SIMULATION_NOT_ALLOWED` (a simulated chain) or `UNTRUSTED_ROOT`.
    ///
    /// Quotes that do not parse get Intel's roots, so the quote checks report the parse error. Whether the
    /// result is simulated is decided afterwards by the root the chain was verified to (not one of Intel's).
    func intelTrustAnchors(quote: [UInt8], platform: EvidencePlatform, policy: AttestationPolicy) throws -> [Certificate] {
        let intel = IntelRootCertificates.all
        let signatureData: QuoteSignatureData? = platform == .tdx
            ? (try? TDXQuote(parsing: quote))?.signatureData : (try? SGXQuote(parsing: quote))?.signatureData
        guard let chain = try? signatureData?.parsePCKChain(), let last = chain.last else { return intel }
        let presentedRoot = last.subject == last.issuer ? last : nil
        if let presentedRoot, intel.contains(presentedRoot) { return intel }

        let looksSimulated = chain.contains { SimulatedPlatform.isSimulatedSubject($0.subject) }
        guard policy.allowSimulation else {
            if looksSimulated {
                throw AttestationError(
                    .simulationNotAllowed, field: "PCK chain", actual: presentedRoot?.subject ?? last.issuer,
                    "this is a simulated \(platform.rawValue) quote (no hardware protects the enclave) and the policy "
                        + "does not allow simulation; use a hardware TEE, or set `allow_simulation` for local testing")
            }
            return intel  // the chain check reports the untrusted root
        }
        let pinned = policy.simulatedRootFingerprints.isEmpty
            ? simulatedRoots.map(\.sha256Fingerprint) : policy.simulatedRootFingerprintBytes
        guard let presentedRoot else {
            return intel + simulatedRoots.filter { pinned.contains($0.sha256Fingerprint) }
        }
        guard !pinned.isEmpty else {
            throw AttestationError(
                .untrustedRoot, field: "simulated_root_fingerprints", actual: Hex.encode(presentedRoot.sha256Fingerprint),
                "no simulated root is trusted: pin the simulated Intel root's fingerprint in "
                    + "`simulated_root_fingerprints` (`enclava policy create --allow-simulation --sim-format "
                    + "\(platform.rawValue)`), or run where `enclava sim init` made the local one")
        }
        guard pinned.contains(presentedRoot.sha256Fingerprint) else {
            throw AttestationError(
                .untrustedRoot, field: "PCK chain root", expected: pinned.map(Hex.encode).joined(separator: " or "),
                actual: Hex.encode(presentedRoot.sha256Fingerprint),
                "the quote chains to a simulated root that is not pinned (another machine's simulator?); add its "
                    + "fingerprint to `simulated_root_fingerprints` only if you trust that simulator")
        }
        return [presentedRoot]
    }

    /// `claims` of a checked Intel quote, with the `platform` line marked as SEV-SNP's is when `root` is a
    /// simulated root: "tdx (SIMULATED: no hardware protection)".
    static func intelClaims(_ claims: [(String, String)], root: Certificate) -> [(String, String)] {
        guard !IntelRootCertificates.all.contains(root) else { return claims }
        return claims.map { $0.0 == "platform" ? ($0.0, $0.1 + " (SIMULATED: no hardware protection)") : $0 }
    }
}
