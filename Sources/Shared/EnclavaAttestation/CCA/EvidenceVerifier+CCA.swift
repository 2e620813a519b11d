import EnclavaCrypto
import Foundation

/// Arm CCA realms and PSA platforms.
///
/// **Design (DESIGN.md §3 addition).** There is no public Arm root: each platform's CPAK (CCA) or IAK (PSA)
/// public key is an endorsement its maker publishes, so the policy pins it by the token's instance id
/// (`arm_cpaks`, or `enclava verify-evidence --cpak/--endorsements`). A CCA token is verified as:
/// 1. parse (strict CBOR, the 907 or 399 collection, two COSE_Sign1 with ES384 or ES256 — ``ArmToken``);
/// 2. the platform token's key: the CPAK pinned for its instance id, else `UNTRUSTED_ROOT`;
/// 3. the platform token's signature under that CPAK;
/// 4. the realm token's signature under the RAK it carries (claim 44237);
/// 5. the platform challenge must equal the hash of the RAK claim under the realm's RAK hash algorithm, so
///    the platform vouches for that RAK (else `PLATFORM_CHALLENGE_MISMATCH`: e.g. a realm token taken from
///    another token).
/// The report data is the 64-byte realm challenge; the measurement `expected_measurements` pins is the RIM.
/// A platform whose lifecycle is not `secured` counts as debug. PSA tokens go through steps 1–3 (IAK).
extension EvidenceVerifier {
    /// Verifies an Arm CCA (`platform` `.cca`) or PSA (`.psa`) token's signatures and the realm binding.
    /// - Parameter cpaks: trusted platform keys by instance id (the policy's ``AttestationPolicy/armCPAKs``).
    /// - Throws: ``AttestationError``: `malformedEvidence`, `untrustedRoot`, `signatureInvalid` or
    ///   `platformChallengeMismatch`, naming the field.
    public func verifyArm(token bytes: [UInt8], platform: EvidencePlatform, cpaks: [[UInt8]: ECDSAPublicKey]) throws -> CheckedArmToken {
        let token = try ArmToken(parsing: bytes, psa: platform == .psa)
        let part = platform == .psa ? "psa" : "platform"
        let instance = token.platform.instanceID
        guard let key = cpaks[instance] else {
            throw AttestationError(
                .untrustedRoot, field: "\(part).instance_id",
                expected: cpaks.isEmpty ? "a pinned key (none given)" : cpaks.keys.map(Hex.encode).sorted().joined(separator: " or "),
                actual: Hex.encode(instance),
                "no \(platform == .psa ? "IAK" : "CPAK") is pinned for this platform's instance id; get the key from the "
                    + "platform's endorsement and pin it (`arm_cpaks` in the policy, or --cpak/--endorsements) — until "
                    + "then nothing proves this token comes from genuine Arm hardware")
        }
        try Self.checkArmSignature(token.platformCOSE, key: key, field: "\(part).COSE_Sign1.signature",
                                   signer: "the pinned \(platform == .psa ? "IAK" : "CPAK")")
        if let realm = token.realm, let realmCOSE = token.realmCOSE {
            try Self.checkArmSignature(realmCOSE, key: realm.rak, field: "realm.COSE_Sign1.signature", signer: "the realm's RAK")
            let algorithm: DigestAlgorithm = realm.rakHashAlgorithm == "sha-512" ? .sha512 : .sha256
            let expected = SHA2.hash(algorithm, realm.rakClaim)
            guard constantTimeEquals(expected, token.platform.challenge) else {
                throw AttestationError(
                    .platformChallengeMismatch, field: "platform.challenge", expected: Hex.encode(expected),
                    actual: Hex.encode(token.platform.challenge),
                    "the platform token's challenge is not the \(realm.rakHashAlgorithm) of the realm's RAK, so the "
                        + "platform does not vouch for the key that signed the realm token (a realm token from another "
                        + "token, or a forged RAK) — do not trust this realm")
            }
        }
        return CheckedArmToken(token: token, platformKey: key)
    }

    /// A COSE_Sign1 signature under `key`, whose curve must match the algorithm (ES256: P-256, ES384: P-384).
    private static func checkArmSignature(_ cose: COSESign1, key: ECDSAPublicKey, field: String, signer: String) throws {
        let curve: ECCurve = cose.algorithm == COSESign1.es256 ? .p256 : .p384
        guard key.curve == curve else {
            throw AttestationError(
                .signatureInvalid, field: field, expected: "a \(curve) key for \(COSESign1.name(cose.algorithm))",
                actual: "a \(key.curve) key",
                "the token is signed with \(COSESign1.name(cose.algorithm)) but \(signer) is a \(key.curve) key; it was "
                    + "signed by another key — do not trust it")
        }
        let half = cose.signature.count / 2
        guard let signature = try? ECDSASignature(r: Array(cose.signature[..<half]), s: Array(cose.signature[half...]), curve: curve),
            key.isValidSignature(signature, for: cose.signatureStructure, digest: curve.defaultDigest)
        else {
            throw AttestationError(
                .signatureInvalid, field: field,
                "the \(COSESign1.name(cose.algorithm)) signature at \(field) does not verify under \(signer); the token "
                    + "was altered or signed by another key — do not trust it")
        }
    }

    /// Arm CCA or PSA evidence under `policy`'s pinned CPAKs.
    func attestArm(_ evidence: Evidence, policy: AttestationPolicy) throws -> AttestedEvidence {
        let checked = try verifyArm(token: evidence.blob, platform: evidence.platform, cpaks: try policy.armCPAKKeys())
        let lifecycle = checked.platform.lifecycle
        return AttestedEvidence(
            platform: evidence.platform, isSimulated: false, measurement: checked.measurement,
            reportData: checked.reportData, isDebug: checked.isDebug,
            debugField: evidence.platform == .psa ? "psa.lifecycle" : "platform.lifecycle",
            debugValue: lifecycle.description, evidenceDigest: SHA2.sha384(evidence.blob),
            rootFingerprint: checked.keyFingerprint, claims: checked.claims, armToken: checked)
    }
}
