import EnclavaCrypto

extension CheckedSNPReport {
    /// Display facts about a verified report, in a stable order.
    func claims(platform: EvidencePlatform) -> [(String, String)] {
        let r = report
        var claims: [(String, String)] = [
            ("platform", platform.rawValue + (isSimulated ? " (SIMULATED: no hardware protection)" : "")),
            ("report version", "\(r.version)"),
            ("measurement", Hex.encode(r.measurement)),
            ("guest policy", r.policy.description),
            ("debug", r.policy.isDebug ? "ALLOWED" : "disabled"),
            ("vmpl", "\(r.vmpl)"),
            ("guest svn", "\(r.guestSVN)"),
            ("reported tcb", r.reportedTCB.description),
            ("current tcb", r.currentTCB.description),
            ("firmware", "\(r.currentMajor).\(r.currentMinor) build \(r.currentBuild)"),
            ("chip id", r.isChipIDMasked ? "(masked)" : Hex.encode(r.chipID)),
            ("signer", "\(r.signingKey): \(leaf.subjectCommonName ?? leaf.subject)"),
            ("root", "\(root.subjectCommonName ?? root.subject) sha256:\(Hex.encode(root.sha256Fingerprint))"),
        ]
        if r.version >= 3 {
            claims.insert(
                ("cpuid", "family 0x\(String(r.cpuidFamily, radix: 16)) model 0x\(String(r.cpuidModel, radix: 16)) "
                    + "stepping \(r.cpuidStepping)"), at: 10)
        }
        return claims
    }
}
