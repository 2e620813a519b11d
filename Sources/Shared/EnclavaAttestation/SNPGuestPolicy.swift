/// The 64-bit SEV-SNP guest `POLICY` field of an attestation report (evidence-formats.md §1).
///
/// Bits 0–15 carry the minimum ABI version; the named members are single flag bits.
public struct SNPGuestPolicy: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The raw little-endian policy value.
    public var rawValue: UInt64

    /// Wraps a raw policy value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Bit 16: simultaneous multithreading may be enabled.
    public static let smt = SNPGuestPolicy(rawValue: 1 << 16)
    /// Bit 17: reserved, must be 1.
    public static let reservedMustBeOne = SNPGuestPolicy(rawValue: 1 << 17)
    /// Bit 18: association with a migration agent is allowed.
    public static let migrateMA = SNPGuestPolicy(rawValue: 1 << 18)
    /// Bit 19: **debugging is allowed** — the hypervisor can read and write guest memory.
    public static let debug = SNPGuestPolicy(rawValue: 1 << 19)
    /// Bit 20: the guest may run on a single socket only.
    public static let singleSocket = SNPGuestPolicy(rawValue: 1 << 20)
    /// Bit 21: CXL may be populated with guest memory.
    public static let cxlAllow = SNPGuestPolicy(rawValue: 1 << 21)
    /// Bit 22: AES-256-XTS memory encryption is required.
    public static let memAES256XTS = SNPGuestPolicy(rawValue: 1 << 22)
    /// Bit 23: running-average power limit must be disabled.
    public static let raplDisable = SNPGuestPolicy(rawValue: 1 << 23)
    /// Bit 24: ciphertext hiding must be enabled.
    public static let ciphertextHiding = SNPGuestPolicy(rawValue: 1 << 24)
    /// Bit 25: guest page swapping is disabled.
    public static let pageSwapDisable = SNPGuestPolicy(rawValue: 1 << 25)

    /// Builds a policy from its minimum ABI version and flags.
    public init(abiMajor: UInt8, abiMinor: UInt8, flags: SNPGuestPolicy) {
        self.rawValue = UInt64(abiMinor) | UInt64(abiMajor) << 8 | flags.rawValue
    }

    /// Minimum ABI minor version (bits 0–7).
    public var abiMinor: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// Minimum ABI major version (bits 8–15).
    public var abiMajor: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    /// Whether the DEBUG bit (19) is set.
    public var isDebug: Bool { contains(.debug) }

    /// The raw value in hex with the set flags named, e.g. `0x30000 (abi 0.0, smt, reserved17)`.
    public var description: String {
        let names: [(SNPGuestPolicy, String)] = [
            (.smt, "smt"), (.reservedMustBeOne, "reserved17"), (.migrateMA, "migrate-ma"), (.debug, "DEBUG"),
            (.singleSocket, "single-socket"), (.cxlAllow, "cxl"), (.memAES256XTS, "aes-256-xts"),
            (.raplDisable, "rapl-disabled"), (.ciphertextHiding, "ciphertext-hiding"),
            (.pageSwapDisable, "page-swap-disabled"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return "0x\(String(rawValue, radix: 16)) (abi \(abiMajor).\(abiMinor)"
            + (set.isEmpty ? ")" : ", " + set.joined(separator: ", ") + ")")
    }
}
