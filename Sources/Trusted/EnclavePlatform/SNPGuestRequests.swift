/// `struct snp_report_req`: 64 bytes of user data, the VMPL, 28 reserved bytes.
public struct SNPReportRequest: Sendable, Equatable {
    /// The wire size.
    public static let byteCount = 96
    /// The 64 bytes that become REPORT_DATA.
    public var userData: [UInt8]
    /// The VMPL to put in the report (at least the guest's own).
    public var vmpl: UInt32

    /// A request.
    public init(userData: [UInt8], vmpl: UInt32) {
        self.userData = userData
        self.vmpl = vmpl
    }

    /// Reads a request in wire form (fakes use it); nil unless 96 bytes with zero reserved bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount, bytes[68...].allSatisfy({ $0 == 0 }) else { return nil }
        userData = Array(bytes[0..<64])
        vmpl = LittleEndian.u32(bytes, 64)
    }

    /// The 96-byte wire form.
    public var serialized: [UInt8] {
        precondition(userData.count == 64, "snp_report_req user data is 64 bytes")
        return userData + LittleEndian.bytes(vmpl) + [UInt8](repeating: 0, count: 28)
    }
}

/// `struct snp_derived_key_req` (SEV-SNP ABI MSG_KEY_REQ): which root key, which guest fields to mix in.
public struct SNPDerivedKeyRequest: Sendable, Equatable {
    /// The wire size.
    public static let byteCount = 32

    /// `ROOT_KEY_SELECT`.
    public enum RootKey: UInt32, Sendable {
        /// The chip's VCEK: keys unique to this chip.
        case vcek = 0
        /// The VM root key of a migration agent.
        case vmrk = 1
    }

    /// `GUEST_FIELD_SELECT` bits: the guest fields mixed into the key.
    public struct GuestFields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// Bit 0: the guest policy (so a debug launch of the same image gets another key).
        public static let guestPolicy = GuestFields(rawValue: 1 << 0)
        /// Bit 1: IMAGE_ID of the ID block.
        public static let imageID = GuestFields(rawValue: 1 << 1)
        /// Bit 2: FAMILY_ID of the ID block.
        public static let familyID = GuestFields(rawValue: 1 << 2)
        /// Bit 3: the launch MEASUREMENT.
        public static let measurement = GuestFields(rawValue: 1 << 3)
        /// Bit 4: the guest SVN.
        public static let guestSVN = GuestFields(rawValue: 1 << 4)
        /// Bit 5: the TCB version in the request.
        public static let tcbVersion = GuestFields(rawValue: 1 << 5)
        /// Bit 6: the launch mitigation vector (newer firmware).
        public static let launchMitigationVector = GuestFields(rawValue: 1 << 6)
    }

    /// The root key.
    public var rootKey: RootKey
    /// The fields mixed in.
    public var fields: GuestFields
    /// The VMPL mixed in (at least the guest's own).
    public var vmpl: UInt32
    /// The guest SVN mixed in when ``GuestFields/guestSVN`` is set.
    public var guestSVN: UInt32
    /// The TCB version mixed in when ``GuestFields/tcbVersion`` is set (at most the committed TCB).
    public var tcbVersion: UInt64

    /// A request.
    public init(rootKey: RootKey = .vcek, fields: GuestFields, vmpl: UInt32 = 0, guestSVN: UInt32 = 0, tcbVersion: UInt64 = 0) {
        self.rootKey = rootKey
        self.fields = fields
        self.vmpl = vmpl
        self.guestSVN = guestSVN
        self.tcbVersion = tcbVersion
    }

    /// Enclava's sealing key: VCEK root, guest policy, measurement and TCB version mixed in, at `vmpl`. The key
    /// changes with the image and with the policy (a debug launch cannot unseal), and with the firmware: pass
    /// the platform's current COMMITTED_TCB, so that a key exposed while old, vulnerable firmware ran is useless
    /// once the platform is patched and its committed TCB moves on (sealed state then falls back to release).
    /// - Parameters:
    ///   - vmpl: the guest's VMPL.
    ///   - tcbVersion: the raw `TCB_VERSION` to mix in; the firmware refuses one above the committed TCB.
    public static func sealing(vmpl: UInt32, tcbVersion: UInt64) -> SNPDerivedKeyRequest {
        SNPDerivedKeyRequest(rootKey: .vcek, fields: [.guestPolicy, .measurement, .tcbVersion], vmpl: vmpl,
                             tcbVersion: tcbVersion)
    }

    /// Reads a request in wire form (fakes use it); nil unless 32 bytes with a zero reserved field.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount, LittleEndian.u32(bytes, 4) == 0,
              let root = RootKey(rawValue: LittleEndian.u32(bytes, 0)) else { return nil }
        rootKey = root
        fields = GuestFields(rawValue: LittleEndian.u64(bytes, 8))
        vmpl = LittleEndian.u32(bytes, 16)
        guestSVN = LittleEndian.u32(bytes, 20)
        tcbVersion = LittleEndian.u64(bytes, 24)
    }

    /// The 32-byte wire form.
    public var serialized: [UInt8] {
        LittleEndian.bytes(rootKey.rawValue) + LittleEndian.bytes(UInt32(0)) + LittleEndian.bytes(fields.rawValue)
            + LittleEndian.bytes(vmpl) + LittleEndian.bytes(guestSVN) + LittleEndian.bytes(tcbVersion)
    }
}

/// Little-endian integers in byte arrays; callers check the bounds first.
enum LittleEndian {
    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
