/// The TD report body of a TDX quote: TDX 1.0 (584 bytes, quote v4 and v5 body type 2) or TDX 1.5
/// (648 bytes, v5 body type 3, which appends TEE_TCB_SVN2 and MRSERVICETD) — evidence-formats.md §2.
public struct TDReportBody: Sendable, Equatable {
    /// Size of a TDX 1.0 body.
    public static let tdx10ByteCount = 584
    /// Size of a TDX 1.5 body.
    public static let tdx15ByteCount = 648

    /// TEE_TCB_SVN (16 bytes): `[0]` TDX module SVN, `[1]` module major version, then the TDX TCB components.
    public let teeTCBSVN: [UInt8]
    /// MRSEAM: SHA-384 of the TDX module.
    public let mrSeam: [UInt8]
    /// MRSIGNERSEAM (zero for Intel's modules).
    public let mrSignerSeam: [UInt8]
    /// SEAM_ATTRIBUTES (8 bytes, as in the quote).
    public let seamAttributes: [UInt8]
    /// TD_ATTRIBUTES (8 bytes, as in the quote; bit 0 is DEBUG).
    public let tdAttributes: [UInt8]
    /// XFAM (8 bytes, as in the quote).
    public let xfam: [UInt8]
    /// MRTD: the TD's build-time measurement (48 bytes).
    public let mrTD: [UInt8]
    /// MRCONFIGID (48 bytes).
    public let mrConfigID: [UInt8]
    /// MROWNER (48 bytes).
    public let mrOwner: [UInt8]
    /// MROWNERCONFIG (48 bytes).
    public let mrOwnerConfig: [UInt8]
    /// RTMR0…RTMR3 (48 bytes each).
    public let rtmrs: [[UInt8]]
    /// REPORTDATA (64 bytes) chosen by the TD.
    public let reportData: [UInt8]
    /// TEE_TCB_SVN2 (TDX 1.5 bodies only).
    public let teeTCBSVN2: [UInt8]?
    /// MRSERVICETD (TDX 1.5 bodies only).
    public let mrServiceTD: [UInt8]?

    /// Parses a body of `count` bytes (584 or 648) at `offset`.
    init(parsing reader: LittleEndianReader, at offset: Int, count: Int) throws(AttestationError) {
        func field(_ relative: Int, _ size: Int, _ name: String) throws(AttestationError) -> [UInt8] {
            try reader.bytes(at: offset + relative, count: size, field: "td_report.\(name)")
        }
        teeTCBSVN = try field(0, 16, "tee_tcb_svn")
        mrSeam = try field(16, 48, "mr_seam")
        mrSignerSeam = try field(64, 48, "mr_signer_seam")
        seamAttributes = try field(112, 8, "seam_attributes")
        tdAttributes = try field(120, 8, "td_attributes")
        xfam = try field(128, 8, "xfam")
        mrTD = try field(136, 48, "mr_td")
        mrConfigID = try field(184, 48, "mr_config_id")
        mrOwner = try field(232, 48, "mr_owner")
        mrOwnerConfig = try field(280, 48, "mr_owner_config")
        var rtmrs: [[UInt8]] = []
        for index in 0..<4 {
            rtmrs.append(try field(328 + 48 * index, 48, "rtmr\(index)"))
        }
        self.rtmrs = rtmrs
        reportData = try field(520, 64, "report_data")
        if count == Self.tdx15ByteCount {
            teeTCBSVN2 = try field(584, 16, "tee_tcb_svn2")
            mrServiceTD = try field(600, 48, "mr_service_td")
        } else {
            teeTCBSVN2 = nil
            mrServiceTD = nil
        }
    }

    /// TD_ATTRIBUTES as a little-endian integer.
    public var tdAttributesValue: UInt64 {
        tdAttributes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// True when TD_ATTRIBUTES.DEBUG (bit 0) is set: the host can read and change the TD's state.
    public var isDebug: Bool { tdAttributesValue & 1 != 0 }

    /// True when TD_ATTRIBUTES.SEPT_VE_DISABLE (bit 28) is set.
    public var isSEPTVEDisabled: Bool { tdAttributesValue & (1 << 28) != 0 }
}
