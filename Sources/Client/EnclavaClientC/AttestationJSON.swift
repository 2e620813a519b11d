import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import Foundation

/// The verified claims of a session as the JSON object `enclava_session_attestation_json` returns (Python's
/// `session.attestation`): display of what ``VerifiedEvidence`` holds, nothing computed here.
enum AttestationJSON {
    static func document(session: ConfidentialSession, memoryUnlocked: Bool) -> String {
        let evidence = session.verifiedEvidence
        var claims: [String: String] = [:]
        for (key, value) in evidence.claims where claims[key] == nil { claims[key] = value }
        let object: [String: Any] = [
            "platform": evidence.platform.rawValue,
            "simulated": evidence.isSimulated,
            "measurement": evidence.measurementHex,
            "manifest_digest": evidence.manifestDigestHex,
            "root_fingerprint": Hex.encode(evidence.rootFingerprint),
            "tcb": tcb(of: evidence) ?? NSNull(),
            "model": session.modelName,
            "backend": session.backend,
            "memory_unlocked": memoryUnlocked,
            "claims": claims,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    /// The TCB the evidence proved: SEV-SNP's reported TCB levels, or Intel's TCB status and advisories.
    static func tcb(of evidence: VerifiedEvidence) -> [String: Any]? {
        if let levels = evidence.attested?.snpTCB {
            var result: [String: Any] = ["bootloader": Int(levels.bootLoader), "tee": Int(levels.tee),
                                         "snp": Int(levels.snp), "microcode": Int(levels.microcode)]
            if let fmc = levels.fmc { result["fmc"] = Int(fmc) }
            return result
        }
        if let tcb = evidence.attested?.tcb {
            return ["status": tcb.status.rawValue, "advisories": tcb.advisoryIDs, "tcb_date": tcb.tcbDate]
        }
        return nil
    }
}
