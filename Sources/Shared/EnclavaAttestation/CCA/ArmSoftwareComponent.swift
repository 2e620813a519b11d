import EnclavaCrypto

/// One entry of an Arm platform token's software components claim (CCA 2399, PSA 2399 / -75006): a
/// firmware or software image the platform's root of trust measured at boot.
public struct ArmSoftwareComponent: Sendable, Equatable {
    /// The component's type (key 1: "BL", "M1", "SPE", "NSPE", …), if given. Policies pin by this name.
    public let type: String?
    /// The measurement (key 2), 32, 48 or 64 bytes.
    public let measurement: [UInt8]
    /// The version (key 4), if given.
    public let version: String?
    /// The signer id (key 5): a hash of the key that signed the image, 32, 48 or 64 bytes.
    public let signerID: [UInt8]
    /// The measurement algorithm (key 6, e.g. "sha-256"), if given.
    public let algorithm: String?

    /// The most components a token may list.
    static let maxCount = 32
    static let digestSizes: Set<Int> = [32, 48, 64]

    /// Parses the components array of `map` under `key`.
    static func list(_ map: ArmClaimMap, key: Int64) throws(AttestationError) -> [ArmSoftwareComponent] {
        let name = "sw_components"
        guard let value = map.value(key) else {
            throw map.malformed(name, expected: "present", actual: "missing", "is missing")
        }
        guard case .array(let items) = value, (1...maxCount).contains(items.count) else {
            throw map.malformed(name, expected: "an array of 1…\(maxCount) maps", actual: COSESign1.describe(value),
                                "must be a non-empty array of component maps")
        }
        var components: [ArmSoftwareComponent] = []
        for (index, item) in items.enumerated() {
            let field = "\(name)[\(index)]"
            guard case .map = item else {
                throw map.malformed(field, expected: "map", actual: item.typeName, "must be a map")
            }
            func text(_ key: UInt64, _ label: String) throws(AttestationError) -> String? {
                guard let value = item[.unsigned(key)] else { return nil }
                return try ArmClaimMap.text(value, name: "\(field).\(label)", maxLength: 64, map: map)
            }
            func bytes(_ key: UInt64, _ label: String) throws(AttestationError) -> [UInt8] {
                guard let value = item[.unsigned(key)] else {
                    throw map.malformed("\(field).\(label)", expected: "present", actual: "missing", "is missing")
                }
                return try ArmClaimMap.bytes(value, name: "\(field).\(label)", sizes: digestSizes, map: map)
            }
            components.append(ArmSoftwareComponent(
                type: try text(1, "measurement_type"), measurement: try bytes(2, "measurement_value"),
                version: try text(4, "version"), signerID: try bytes(5, "signer_id"),
                algorithm: try text(6, "measurement_description")))
        }
        return components
    }

    /// `BL 3.4.2 sha-256:0706… signer 0706…` for display.
    var summary: String {
        var text = type ?? "(untyped)"
        if let version { text += " \(version)" }
        text += " \(algorithm.map { "\($0):" } ?? "")\(Hex.encode(measurement)) signer \(Hex.encode(signerID))"
        return text
    }
}

/// The security lifecycle claim (2395 / -75002) of an Arm platform, as PSA and CCA define it: the high byte
/// is the state, the low byte implementation-defined. Only `secured` (0x30xx) is a state in which the platform's
/// root of trust protects secrets; every other state (debug, provisioning, decommissioned, unknown) is
/// refused unless the policy sets `allow_debug`.
public struct ArmLifecycle: Sendable, Equatable, CustomStringConvertible {
    /// The raw claim value.
    public let value: UInt16

    /// The state's name.
    public var state: String {
        switch value >> 8 {
        case 0x00: "unknown"
        case 0x10: "assembly-and-test"
        case 0x20: "rot-provisioning"
        case 0x30: "secured"
        case 0x40: "non-rot-debug"
        case 0x50: "recoverable-rot-debug"
        case 0x60: "decommissioned"
        default: "invalid"
        }
    }

    /// True only in the secured state.
    public var isSecured: Bool { value >> 8 == 0x30 }

    /// `secured (0x3003)`.
    public var description: String { "\(state) (0x\(String(value, radix: 16, uppercase: false)))" }
}
