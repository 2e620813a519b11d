import Foundation

/// The `minimum_tcb` of an ``AttestationPolicy``: lowest accepted security versions. Every key is optional;
/// a missing key is not checked.
///
/// * SEV-SNP (checked against `REPORTED_TCB`, the TCB the VCEK or VLEK certifies — a host can only report
///   an older TCB with an older key, so this is the level an attacker would have to break): `bootloader`,
///   `tee`, `snp`, `microcode`, and on Turin `fmc`.
/// * SGX: `isv_svn` (the enclave's ISVSVN).
///
/// ```json
/// "minimum_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}
/// ```
public struct MinimumTCB: Codable, Sendable, Equatable {
    /// Minimum SNP boot loader SPL.
    public var bootLoader: UInt8?
    /// Minimum SNP TEE SPL.
    public var tee: UInt8?
    /// Minimum SNP firmware SPL.
    public var snp: UInt8?
    /// Minimum microcode SPL.
    public var microcode: UInt8?
    /// Minimum FMC SPL (Turin).
    public var fmc: UInt8?
    /// Minimum SGX ISVSVN.
    public var isvSVN: UInt16?

    /// A minimum from its parts.
    public init(
        bootLoader: UInt8? = nil, tee: UInt8? = nil, snp: UInt8? = nil, microcode: UInt8? = nil, fmc: UInt8? = nil,
        isvSVN: UInt16? = nil
    ) {
        self.bootLoader = bootLoader
        self.tee = tee
        self.snp = snp
        self.microcode = microcode
        self.fmc = fmc
        self.isvSVN = isvSVN
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case bootLoader = "bootloader"
        case tee, snp, microcode, fmc
        case isvSVN = "isv_svn"
    }

    /// Decodes, refusing unknown keys.
    public init(from decoder: any Decoder) throws {
        try StrictKeys.refuseUnknown(in: decoder, known: CodingKeys.self, object: "minimum_tcb")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bootLoader = try c.decodeIfPresent(UInt8.self, forKey: .bootLoader)
        tee = try c.decodeIfPresent(UInt8.self, forKey: .tee)
        snp = try c.decodeIfPresent(UInt8.self, forKey: .snp)
        microcode = try c.decodeIfPresent(UInt8.self, forKey: .microcode)
        fmc = try c.decodeIfPresent(UInt8.self, forKey: .fmc)
        isvSVN = try c.decodeIfPresent(UInt16.self, forKey: .isvSVN)
    }

    /// Parses `bootloader=3,snp=8,microcode=115` (the `--min-tcb` form).
    /// - Throws: ``AttestationError`` `INVALID_POLICY` naming the bad item.
    public init(parsing text: String) throws {
        self.init()
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = UInt16(parts[1]) else {
                throw AttestationError(
                    .invalidPolicy, field: "minimum_tcb", actual: String(item),
                    "write the minimum TCB as key=number pairs, e.g. bootloader=3,tee=0,snp=8,microcode=115")
            }
            func byte() throws -> UInt8 {
                guard let small = UInt8(exactly: value) else {
                    throw AttestationError(
                        .invalidPolicy, field: "minimum_tcb.\(parts[0])", expected: "0…255", actual: parts[1],
                        "an SNP security patch level is one byte")
                }
                return small
            }
            switch parts[0] {
            case "bootloader", "bl": bootLoader = try byte()
            case "tee": tee = try byte()
            case "snp": snp = try byte()
            case "microcode", "ucode": microcode = try byte()
            case "fmc": fmc = try byte()
            case "isv_svn", "isvsvn": isvSVN = value
            default:
                throw AttestationError(
                    .invalidPolicy, field: "minimum_tcb", actual: parts[0],
                    "unknown minimum TCB key `\(parts[0])`; use bootloader, tee, snp, microcode, fmc or isv_svn")
            }
        }
    }
}
