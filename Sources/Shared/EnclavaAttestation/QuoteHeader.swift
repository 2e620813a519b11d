/// The 48-byte header shared by Intel DCAP quotes v3 (SGX), v4 and v5 (TDX) — evidence-formats.md §2.
///
/// Parsing checks only the layout; ``EvidenceVerifier`` checks the values (version, key type, TEE type,
/// QE vendor) for the quote kind it expects.
public struct QuoteHeader: Sendable, Equatable {
    /// Size of the header in bytes.
    public static let byteCount = 48
    /// `att_key_type` for ECDSA-256 with P-256, the only attestation key type Intel's QEs use.
    public static let ecdsaP256KeyType: UInt16 = 2
    /// `tee_type` of an SGX quote.
    public static let teeTypeSGX: UInt32 = 0x00
    /// `tee_type` of a TDX quote.
    public static let teeTypeTDX: UInt32 = 0x81
    /// The QE vendor id of Intel's quoting enclaves.
    public static let intelQEVendorID: [UInt8] = [
        0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
    ]

    /// Quote version: 3 (SGX), 4 or 5 (TDX).
    public let version: UInt16
    /// Attestation key type (2 = ECDSA P-256).
    public let attestationKeyType: UInt16
    /// TEE type in v4/v5 (0x00 SGX, 0x81 TDX); the reserved `att_key_data_0` in v3.
    public let teeType: UInt32
    /// QE SVN (v3; reserved in v4/v5).
    public let qeSVN: UInt16
    /// PCE SVN (v3; reserved in v4/v5).
    public let pceSVN: UInt16
    /// QE vendor id (16 bytes).
    public let qeVendorID: [UInt8]
    /// User data (20 bytes; for Intel's QE the first 16 bytes are the platform instance id).
    public let userData: [UInt8]

    /// Parses the header from the start of `bytes`.
    /// - Throws: ``AttestationError`` `.malformedEvidence` when fewer than 48 bytes are given.
    init(parsing reader: LittleEndianReader) throws(AttestationError) {
        version = try reader.u16(at: 0, field: "header.version")
        attestationKeyType = try reader.u16(at: 2, field: "header.att_key_type")
        teeType = try reader.u32(at: 4, field: "header.tee_type")
        qeSVN = try reader.u16(at: 8, field: "header.qe_svn")
        pceSVN = try reader.u16(at: 10, field: "header.pce_svn")
        qeVendorID = try reader.bytes(at: 12, count: 16, field: "header.qe_vendor_id")
        userData = try reader.bytes(at: 28, count: 20, field: "header.user_data")
    }
}

extension LittleEndianReader {
    /// A little-endian `u16`, bounds-checked.
    func u16(at offset: Int, field: String) throws(AttestationError) -> UInt16 {
        let raw = try bytes(at: offset, count: 2, field: field)
        return UInt16(raw[0]) | UInt16(raw[1]) << 8
    }
}
