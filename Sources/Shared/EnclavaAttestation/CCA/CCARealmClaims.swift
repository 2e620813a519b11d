import EnclavaCrypto

/// The claims of a CCA realm token (RMM specification, "realm token claims"), signed by the realm
/// attestation key (RAK) the token itself carries. Untrusted until the RAK is vouched for by the platform
/// token's challenge (``EvidenceVerifier``).
public struct CCARealmClaims: Sendable, Equatable {
    /// The realm challenge (64 bytes): Enclava's report data.
    public let challenge: [UInt8]
    /// The realm personalization value (RPV, 64 bytes), chosen by the host when it created the realm.
    public let personalizationValue: [UInt8]
    /// The realm initial measurement (RIM).
    public let rim: [UInt8]
    /// The four realm extensible measurements (REM0–3), each the size of the RIM.
    public let rems: [[UInt8]]
    /// The hash algorithm of the RIM and REMs ("sha-256" or "sha-512").
    public let hashAlgorithm: String
    /// The realm public key (RAK) claim exactly as encoded: the platform challenge is its hash.
    public let rakClaim: [UInt8]
    /// The RAK as a P-384 key.
    public let rak: ECDSAPublicKey
    /// The hash algorithm of the platform challenge over the RAK ("sha-256" or "sha-512").
    public let rakHashAlgorithm: String
    /// The realm profile, when the token carries one (newer RMMs).
    public let profile: String?

    static let realmProfiles = ["tag:arm.com,2023:realm#1.0.0"]

    init(payload: [UInt8], format: String) throws(AttestationError) {
        let map = try ArmClaimMap(payload, part: "realm", format: format)
        profile = try map.optionalText(265, "profile")
        if let profile, !Self.realmProfiles.contains(profile) {
            throw map.malformed("profile", expected: Self.realmProfiles.joined(separator: " or "), actual: profile,
                                "names a profile this verifier does not know")
        }
        challenge = try map.bytes(10, "challenge", sizes: [64])
        personalizationValue = try map.bytes(44235, "personalization_value", sizes: [64])
        hashAlgorithm = try Self.algorithm(map, 44236, "hash_algo_id")
        let digestSize = Self.digestSize(hashAlgorithm)
        rim = try map.bytes(44238, "rim", sizes: [digestSize])
        guard case .array(let items)? = map.value(44239), items.count == 4 else {
            throw map.malformed("rem", expected: "an array of 4 byte strings",
                                actual: map.value(44239).map(COSESign1.describe) ?? "missing", "must list REM0–3")
        }
        var rems: [[UInt8]] = []
        for (index, item) in items.enumerated() {
            rems.append(try ArmClaimMap.bytes(item, name: "rem[\(index)]", sizes: [digestSize], map: map))
        }
        self.rems = rems
        rakHashAlgorithm = try Self.algorithm(map, 44240, "public_key_hash_algo_id")
        rakClaim = try map.bytes(44237, "public_key", sizes: Set(64...256))
        rak = try Self.rak(rakClaim, map: map)
    }

    /// A hash algorithm claim: "sha-256" or "sha-512" (the RMM's two).
    private static func algorithm(_ map: ArmClaimMap, _ key: Int64, _ name: String) throws(AttestationError) -> String {
        let text = try map.text(key, name, maxLength: 32)
        guard text == "sha-256" || text == "sha-512" else {
            throw map.malformed(name, expected: "sha-256 or sha-512", actual: text, "names an unknown hash algorithm")
        }
        return text
    }

    static func digestSize(_ algorithm: String) -> Int { algorithm == "sha-512" ? 64 : 32 }

    /// The RAK: a raw uncompressed P-384 point (TF-RMM up to 0.4) or a COSE_Key `{1: 2, -1: 2, -2: x, -3: y}`.
    private static func rak(_ claim: [UInt8], map: ArmClaimMap) throws(AttestationError) -> ECDSAPublicKey {
        var x: [UInt8] = []
        var y: [UInt8] = []
        if claim.count == 97, claim[0] == 0x04 {
            x = Array(claim[1..<49])
            y = Array(claim[49...])
        } else if let key = try? CBORDecoder.decode(claim, structure: "realm public key"), case .map = key,
            key[.unsigned(1)] == .unsigned(2), key[.negative(0)] == .unsigned(2),
            case .bytes(let kx)? = key[.negative(1)], case .bytes(let ky)? = key[.negative(2)], kx.count == 48, ky.count == 48
        {
            (x, y) = (kx, ky)
        } else {
            throw map.malformed("public_key", expected: "a P-384 point (97 bytes, 0x04 ‖ x ‖ y) or a P-384 COSE_Key",
                                actual: "\(claim.count) bytes", "is not a P-384 public key")
        }
        guard let key = try? ECDSAPublicKey(curve: .p384, x: x, y: y) else {
            throw map.malformed("public_key", expected: "a point on P-384", actual: Hex.encode(Array(claim.prefix(16))) + "…",
                                "is not a point on the P-384 curve")
        }
        return key
    }
}
