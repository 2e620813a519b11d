import EnclavaCrypto

/// An Arm CCA or PSA token whose signatures ``EvidenceVerifier/verifyArm(token:platform:cpaks:)`` has checked:
/// the platform token under a CPAK (or PSA IAK) the caller pinned for its instance id and, for CCA, the realm
/// token under its RAK, which the platform token's challenge vouches for. Policy (lifecycle, pins) and the
/// report-data binding are checked separately.
public struct CheckedArmToken: Sendable {
    /// The parsed token; its values are now vouched for by the pinned key.
    public let token: ArmToken
    /// The pinned key that signed the platform token.
    public let platformKey: ECDSAPublicKey

    /// The platform token's claims.
    public var platform: ArmPlatformClaims { token.platform }
    /// The realm token's claims (CCA only).
    public var realm: CCARealmClaims? { token.realm }
    /// True when the platform is not in the secured lifecycle state (debug, provisioning, decommissioned, …).
    public var isDebug: Bool { !token.platform.lifecycle.isSecured }
    /// The measurement `expected_measurements` pins: the RIM for CCA, none for PSA.
    public var measurement: [UInt8] { token.realm?.rim ?? [] }
    /// The report data: the realm challenge (CCA) or the PSA nonce.
    public var reportData: [UInt8] { token.realm?.challenge ?? token.platform.challenge }
    /// SHA-256 of the pinned key's SubjectPublicKeyInfo (the "root" of this evidence).
    public var keyFingerprint: [UInt8] { SHA2.sha256(platformKey.spkiDER) }

    /// Display facts in a stable order.
    public var claims: [(String, String)] {
        let p = token.platform
        var claims: [(String, String)] = [("platform", token.realm == nil ? EvidencePlatform.psa.rawValue : EvidencePlatform.cca.rawValue)]
        if let layout = token.layout { claims.append(("layout", layout.rawValue)) }
        claims += [
            ("profile", p.profileName),
            ("instance id", Hex.encode(p.instanceID)),
            ("implementation id", Hex.encode(p.implementationID)),
            ("lifecycle", p.lifecycle.description),
        ]
        if let hash = p.hashAlgorithm { claims.append(("platform hash algorithm", hash)) }
        if let config = p.platformConfig { claims.append(("platform config", Hex.encode(config))) }
        if let client = p.clientID { claims.append(("client id", "\(client)")) }
        for (index, component) in p.softwareComponents.enumerated() {
            claims.append(("sw component \(index)", component.summary))
        }
        claims.append(("\(token.realm == nil ? "nonce" : "platform challenge")", Hex.encode(p.challenge)))
        if let realm = token.realm {
            claims += [
                ("realm challenge", Hex.encode(realm.challenge)),
                ("rim", Hex.encode(realm.rim)),
            ]
            for (index, rem) in realm.rems.enumerated() { claims.append(("rem\(index)", Hex.encode(rem))) }
            claims += [
                ("personalization value", Hex.encode(realm.personalizationValue)),
                ("realm hash algorithm", realm.hashAlgorithm),
                ("rak hash algorithm", realm.rakHashAlgorithm),
            ]
        }
        claims += [
            ("debug", isDebug ? "YES (lifecycle \(p.lifecycle.state): not secured)" : "no"),
            ("signer", "\(token.realm == nil ? "IAK" : "CPAK") \(platformKey.curve) sha256:\(Hex.encode(keyFingerprint)) (pinned by instance id)"),
        ]
        return claims
    }
}
