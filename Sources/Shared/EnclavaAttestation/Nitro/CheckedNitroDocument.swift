import EnclavaCrypto
import Foundation

/// A Nitro attestation document whose COSE signature and certificate chain (to the AWS Nitro Enclaves
/// Root-G1) have been verified by ``EvidenceVerifier/verifyNitro(document:at:)``. The policy (debug, PCRs)
/// and any report-data binding are checked separately.
public struct CheckedNitroDocument: Sendable {
    /// The parsed document; its values are now vouched for by AWS's chain.
    public let document: NitroAttestationDocument
    /// The certificate that signed the document.
    public let leaf: Certificate
    /// The trusted root the chain ends in.
    public let root: Certificate

    /// PCR0, the enclave image's measurement (what `expected_measurements` pins for Nitro).
    public var measurement: [UInt8] { document.pcrs[0] ?? [] }
    /// True when the enclave runs in debug mode (PCR0 all zeros).
    public var isDebug: Bool { document.isDebug }

    /// Display facts in a stable order: module id, timestamp, digest, PCR0/1/2/8, debug, signer, root.
    public var claims: [(String, String)] {
        let d = document
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var claims: [(String, String)] = [
            ("platform", EvidencePlatform.nitro.rawValue),
            ("module id", d.moduleID),
            ("timestamp", "\(formatter.string(from: d.date)) (\(d.timestamp) ms)"),
            ("digest", d.digest),
        ]
        for index in [0, 1, 2, 8] {
            claims.append(("pcr\(index)", d.pcrs[index].map(Hex.encode) ?? "(absent)"))
        }
        claims += [
            ("debug", d.isDebug ? "YES (PCR0 is all zeros: debug mode)" : "no"),
            ("signer", leaf.subjectCommonName ?? leaf.subject),
            ("root", "\(root.subjectCommonName ?? root.subject) sha256:\(Hex.encode(root.sha256Fingerprint))"),
        ]
        return claims
    }
}
