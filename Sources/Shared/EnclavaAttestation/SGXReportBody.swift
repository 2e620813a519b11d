/// The 384-byte SGX report body (`sgx_report_body_t`): the enclave report in an SGX quote v3 and the QE
/// report inside every DCAP quote — evidence-formats.md §3.
public struct SGXReportBody: Sendable, Equatable {
    /// Size of the body in bytes.
    public static let byteCount = 384

    /// CPUSVN (16 bytes).
    public let cpuSVN: [UInt8]
    /// MISCSELECT.
    public let miscSelect: UInt32
    /// ISVEXTPRODID (16 bytes).
    public let isvExtProdID: [UInt8]
    /// ATTRIBUTES (16 bytes: flags u64 ‖ xfrm u64), as in the report.
    public let attributes: [UInt8]
    /// MRENCLAVE (32 bytes).
    public let mrEnclave: [UInt8]
    /// MRSIGNER (32 bytes).
    public let mrSigner: [UInt8]
    /// CONFIGID (64 bytes).
    public let configID: [UInt8]
    /// ISVPRODID.
    public let isvProdID: UInt16
    /// ISVSVN.
    public let isvSVN: UInt16
    /// CONFIGSVN.
    public let configSVN: UInt16
    /// ISVFAMILYID (16 bytes).
    public let isvFamilyID: [UInt8]
    /// REPORTDATA (64 bytes).
    public let reportData: [UInt8]
    /// The 384 bytes as received (what the QE report signature covers).
    public let rawBytes: [UInt8]

    /// Parses the body at `offset`.
    init(parsing reader: LittleEndianReader, at offset: Int, name: String) throws(AttestationError) {
        rawBytes = try reader.bytes(at: offset, count: Self.byteCount, field: name)
        let body = LittleEndianReader(bytes: rawBytes, structure: reader.structure)
        cpuSVN = try body.bytes(at: 0, count: 16, field: "\(name).cpu_svn")
        miscSelect = try body.u32(at: 16, field: "\(name).misc_select")
        isvExtProdID = try body.bytes(at: 32, count: 16, field: "\(name).isv_ext_prod_id")
        attributes = try body.bytes(at: 48, count: 16, field: "\(name).attributes")
        mrEnclave = try body.bytes(at: 64, count: 32, field: "\(name).mr_enclave")
        mrSigner = try body.bytes(at: 128, count: 32, field: "\(name).mr_signer")
        configID = try body.bytes(at: 192, count: 64, field: "\(name).config_id")
        isvProdID = try body.u16(at: 256, field: "\(name).isv_prod_id")
        isvSVN = try body.u16(at: 258, field: "\(name).isv_svn")
        configSVN = try body.u16(at: 260, field: "\(name).config_svn")
        isvFamilyID = try body.bytes(at: 304, count: 16, field: "\(name).isv_family_id")
        reportData = try body.bytes(at: 320, count: 64, field: "\(name).report_data")
    }

    /// ATTRIBUTES.FLAGS as a little-endian integer.
    public var attributeFlags: UInt64 {
        attributes.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// True when ATTRIBUTES.DEBUG (flag bit 1) is set: the enclave's memory can be read by a debugger.
    public var isDebug: Bool { attributeFlags & 0x2 != 0 }
}
