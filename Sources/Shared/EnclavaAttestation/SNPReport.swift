/// An AMD SEV-SNP `ATTESTATION_REPORT` (1184 bytes; evidence-formats.md §1, AMD spec 56860).
///
/// Parsing checks the size and every offset and keeps every byte, reserved ones included, so
/// ``serialized()`` of a parsed report reproduces the input exactly and ``signedBytes`` are the bytes the
/// firmware signed. Parsing does **not** check the signature or any value: that is ``EvidenceVerifier``'s job.
public struct SNPReport: Sendable, Equatable {
    /// The size of a report in bytes (0x4A0).
    public static let byteCount = 0x4A0
    /// The number of signed bytes at the start of the report (0x2A0).
    public static let signedByteCount = 0x2A0
    /// `SIGNATURE_ALGO` value for ECDSA P-384 with SHA-384, the only one defined.
    public static let ecdsaP384SHA384: UInt32 = 1

    /// `VERSION` (0x000): 2, 3 and 5 are seen in real reports; the simulator writes 3.
    public var version: UInt32 = 3
    /// `GUEST_SVN` (0x004).
    public var guestSVN: UInt32 = 0
    /// `POLICY` (0x008): the guest policy, including the DEBUG bit.
    public var policy = SNPGuestPolicy(rawValue: 0)
    /// `FAMILY_ID` (0x010, 16 bytes), from the ID block.
    public var familyID = [UInt8](repeating: 0, count: 16)
    /// `IMAGE_ID` (0x020, 16 bytes), from the ID block.
    public var imageID = [UInt8](repeating: 0, count: 16)
    /// `VMPL` (0x030): the privilege level that asked for the report.
    public var vmpl: UInt32 = 0
    /// `SIGNATURE_ALGO` (0x034): 1 = ECDSA P-384 with SHA-384.
    public var signatureAlgorithm: UInt32 = SNPReport.ecdsaP384SHA384
    /// `CURRENT_TCB` (0x038).
    public var currentTCB = TCBVersion(rawValue: 0)
    /// `PLATFORM_INFO` (0x040): b0 SMT_EN, b1 TSME_EN, b2 ECC_EN, b3 RAPL_DIS, b4 CIPHERTEXT_HIDING_EN, …
    public var platformInfo: UInt64 = 0
    /// Signer info (0x048): b0 AUTHOR_KEY_EN, b1 MASK_CHIP_KEY, b2–4 SIGNING_KEY. See ``signingKey``.
    public var signerInfo: UInt32 = 0
    /// Reserved (0x04C, 4 bytes), kept for an exact round trip.
    public var reservedAt04C: UInt32 = 0
    /// `REPORT_DATA` (0x050, 64 bytes): chosen by the guest; Enclava binds the nonce and HPKE key here.
    public var reportData = [UInt8](repeating: 0, count: 64)
    /// `MEASUREMENT` (0x090, 48 bytes): the SHA-384 launch digest.
    public var measurement = [UInt8](repeating: 0, count: 48)
    /// `HOST_DATA` (0x0C0, 32 bytes).
    public var hostData = [UInt8](repeating: 0, count: 32)
    /// `ID_KEY_DIGEST` (0x0E0, 48 bytes).
    public var idKeyDigest = [UInt8](repeating: 0, count: 48)
    /// `AUTHOR_KEY_DIGEST` (0x110, 48 bytes).
    public var authorKeyDigest = [UInt8](repeating: 0, count: 48)
    /// `REPORT_ID` (0x140, 32 bytes).
    public var reportID = [UInt8](repeating: 0, count: 32)
    /// `REPORT_ID_MA` (0x160, 32 bytes): all 0xFF when there is no migration agent.
    public var reportIDMA = [UInt8](repeating: 0xFF, count: 32)
    /// `REPORTED_TCB` (0x180): the TCB the VCEK was issued for.
    public var reportedTCB = TCBVersion(rawValue: 0)
    /// `CPUID_FAM_ID` (0x188; version 3 and later, reserved before).
    public var cpuidFamily: UInt8 = 0
    /// `CPUID_MOD_ID` (0x189; version 3 and later).
    public var cpuidModel: UInt8 = 0
    /// `CPUID_STEP` (0x18A; version 3 and later).
    public var cpuidStepping: UInt8 = 0
    /// Reserved (0x18B, 21 bytes).
    public var reservedAt18B = [UInt8](repeating: 0, count: 21)
    /// `CHIP_ID` (0x1A0, 64 bytes): zero when MASK_CHIP_KEY is set; 8 significant bytes on Turin.
    public var chipID = [UInt8](repeating: 0, count: 64)
    /// `COMMITTED_TCB` (0x1E0).
    public var committedTCB = TCBVersion(rawValue: 0)
    /// `CURRENT_BUILD` (0x1E8).
    public var currentBuild: UInt8 = 0
    /// `CURRENT_MINOR` (0x1E9).
    public var currentMinor: UInt8 = 0
    /// `CURRENT_MAJOR` (0x1EA).
    public var currentMajor: UInt8 = 0
    /// Reserved (0x1EB).
    public var reservedAt1EB: UInt8 = 0
    /// `COMMITTED_BUILD` (0x1EC).
    public var committedBuild: UInt8 = 0
    /// `COMMITTED_MINOR` (0x1ED).
    public var committedMinor: UInt8 = 0
    /// `COMMITTED_MAJOR` (0x1EE).
    public var committedMajor: UInt8 = 0
    /// Reserved (0x1EF).
    public var reservedAt1EF: UInt8 = 0
    /// `LAUNCH_TCB` (0x1F0).
    public var launchTCB = TCBVersion(rawValue: 0)
    /// `LAUNCH_MIT_VECTOR` (0x1F8; version 5 only, reserved before).
    public var launchMitigationVector: UInt64 = 0
    /// `CURRENT_MIT_VECTOR` (0x200; version 5 only, reserved before).
    public var currentMitigationVector: UInt64 = 0
    /// Reserved, must be zero (0x208, 0x98 bytes).
    public var reservedAt208 = [UInt8](repeating: 0, count: 0x98)
    /// Signature R (0x2A0, 72 bytes): **little-endian**, zero-padded; the low 48 bytes are significant.
    public var signatureR = [UInt8](repeating: 0, count: 72)
    /// Signature S (0x2E8, 72 bytes): **little-endian**, zero-padded; the low 48 bytes are significant.
    public var signatureS = [UInt8](repeating: 0, count: 72)
    /// The rest of the signature area (0x330..<0x4A0, 368 bytes), zero in every real report.
    public var signatureReserved = [UInt8](repeating: 0, count: 0x170)

    /// An all-default report (version 3, ECDSA P-384, no migration agent, every other field zero).
    public init() {}
}

// MARK: - Signer info

extension SNPReport {
    /// Which key signed a report (signer info bits 2–4).
    public enum SigningKey: Sendable, Equatable, CustomStringConvertible {
        /// The chip's Versioned Chip Endorsement Key.
        case vcek
        /// A cloud provider's Versioned Loaded Endorsement Key.
        case vlek
        /// No key (the report is unsigned).
        case none
        /// A value the specification does not define; kept rather than dropped.
        case unknown(UInt8)

        /// The name AMD uses.
        public var description: String {
            switch self {
            case .vcek: "VCEK"
            case .vlek: "VLEK"
            case .none: "none"
            case .unknown(let raw): "unknown(\(raw))"
            }
        }
    }

    /// The key that signed this report, from ``signerInfo`` bits 2–4.
    public var signingKey: SigningKey {
        get {
            switch UInt8((signerInfo >> 2) & 0x7) {
            case 0: .vcek
            case 1: .vlek
            case 7: .none
            case let raw: .unknown(raw)
            }
        }
        set {
            let raw: UInt32 = switch newValue {
            case .vcek: 0
            case .vlek: 1
            case .none: 7
            case .unknown(let raw): UInt32(raw & 0x7)
            }
            signerInfo = (signerInfo & ~(0x7 << 2)) | raw << 2
        }
    }

    /// Signer info bit 0: the author key digest is present.
    public var isAuthorKeyEnabled: Bool { signerInfo & 0x1 != 0 }
    /// Signer info bit 1: `CHIP_ID` is masked (all zero).
    public var isChipIDMasked: Bool { signerInfo & 0x2 != 0 }
}
