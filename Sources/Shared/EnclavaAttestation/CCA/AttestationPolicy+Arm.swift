import EnclavaCrypto

/// The Arm keys of a policy: `arm_cpaks` (the trust anchors of CCA and PSA evidence) and the CCA/PSA pins
/// `expected_cca_rim`, `expected_cca_rems`, `expected_cca_rpv` and `expected_arm_sw_components`.
///
/// ```json
/// { "allowed_platforms": ["cca"], "arm_cpaks": {"0107…1918": "-----BEGIN PUBLIC KEY-----\n…"},
///   "expected_cca_rim": ["…64 hex…"], "expected_cca_rems": {"0": ["…"]}, "expected_cca_rpv": ["…128 hex…"],
///   "expected_arm_sw_components": {"BL": ["…64 hex…"]} }
/// ```
extension AttestationPolicy {
    /// Instance ids are random UEIDs: a type byte and 16, 24 or 32 bytes.
    static let armInstanceIDSizes: Set<Int> = [17, 25, 33]

    /// Decodes and checks the Arm keys (called by `init(from:)`).
    mutating func decodeArm(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        let cpaks = try c.decodeIfPresent([String: String].self, forKey: .armCPAKs) ?? [:]
        armCPAKs = [:]
        for (instance, pem) in cpaks {
            guard let id = Hex.decode(instance), Self.armInstanceIDSizes.contains(id.count) else {
                throw AttestationError(
                    .invalidPolicy, field: CodingKeys.armCPAKs.rawValue, expected: "hex instance ids of 17, 25 or 33 bytes",
                    actual: instance, "`arm_cpaks` keys are platform instance ids in hex (claim 256 of the platform token)")
            }
            guard (try? ECDSAPublicKey(pem: pem)) != nil else {
                throw AttestationError(
                    .invalidPolicy, field: "\(CodingKeys.armCPAKs.rawValue).\(instance)", expected: "a PEM EC P-256 or P-384 public key",
                    actual: String(pem.prefix(40)), "`arm_cpaks` values must be the platform key as a PEM public key")
            }
            armCPAKs[Hex.encode(id)] = pem
        }
        expectedCCARIM = try Self.hexList(c, .expectedCCARIM)
        expectedCCAREMs = try Self.indexedHex(c, .expectedCCAREMs, indices: 0...3, byteCount: nil)
        expectedCCARPV = try Self.hexList(c, .expectedCCARPV, byteCount: 64)
        let components = try c.decodeIfPresent([String: [String]].self, forKey: .expectedArmSoftwareComponents) ?? [:]
        expectedArmSoftwareComponents = [:]
        for (type, values) in components {
            expectedArmSoftwareComponents[type] = try values.map { value in
                guard let bytes = Hex.decode(value), [32, 48, 64].contains(bytes.count) else {
                    throw AttestationError(
                        .invalidPolicy, field: "\(CodingKeys.expectedArmSoftwareComponents.rawValue).\(type)", actual: value,
                        "`expected_arm_sw_components` values must be hex measurements of 32, 48 or 64 bytes")
                }
                return Hex.encode(bytes)
            }
        }
    }

    /// The pinned CPAKs by instance id (the decoder has checked every entry; a bad one set in code is refused).
    /// - Throws: ``AttestationError`` `invalidPolicy` naming an entry that is not hex or not a PEM key.
    public func armCPAKKeys() throws -> [[UInt8]: ECDSAPublicKey] {
        var keys: [[UInt8]: ECDSAPublicKey] = [:]
        for (instance, pem) in armCPAKs {
            guard let id = Hex.decode(instance), let key = try? ECDSAPublicKey(pem: pem) else {
                throw AttestationError(
                    .invalidPolicy, field: "\(CodingKeys.armCPAKs.rawValue).\(instance)",
                    "`arm_cpaks` entries must map a hex instance id to a PEM public key")
            }
            keys[id] = key
        }
        return keys
    }

    /// The CCA and PSA pins: each one that is set must match.
    func checkArmPins(_ arm: CheckedArmToken) throws {
        if let realm = arm.realm {
            if !expectedCCARIM.isEmpty { try Self.pin("realm.rim", realm.rim, expectedCCARIM, key: "expected_cca_rim") }
            for (index, values) in expectedCCAREMs.sorted(by: { $0.key < $1.key }) {
                guard let number = Int(index), realm.rems.indices.contains(number) else { continue }
                try Self.pin("realm.rem[\(index)]", realm.rems[number], values, key: "expected_cca_rems.\(index)")
            }
            if !expectedCCARPV.isEmpty {
                try Self.pin("realm.personalization_value", realm.personalizationValue, expectedCCARPV, key: "expected_cca_rpv")
            }
        } else if !expectedCCARIM.isEmpty || !expectedCCAREMs.isEmpty || !expectedCCARPV.isEmpty {
            throw AttestationError(
                .measurementMismatch, field: "realm", expected: "a CCA realm token", actual: "a PSA token",
                "the policy pins realm measurements (`expected_cca_rim`, `expected_cca_rems` or `expected_cca_rpv`) "
                    + "but the evidence has no realm token")
        }
        let part = arm.realm == nil ? "psa" : "platform"
        for (type, values) in expectedArmSoftwareComponents.sorted(by: { $0.key < $1.key }) {
            let matching = arm.platform.softwareComponents.filter { $0.type == type }
            let key = "expected_arm_sw_components.\(type)"
            guard !matching.isEmpty else {
                try Self.pin("\(part).sw_components[\(type)]", [], values, key: key)
                continue
            }
            for component in matching {
                try Self.pin("\(part).sw_components[\(type)]", component.measurement, values, key: key)
            }
        }
    }
}
