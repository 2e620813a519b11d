/// Where each field of an SNP report lives (evidence-formats.md §1). The regions are contiguous and cover
/// all 0x4A0 bytes; a test checks that, and checks the offsets against the specification's table.
public enum SNPReportLayout {
    /// One field: its name (as in AMD's table), byte offset and size.
    public struct Region: Sendable, Equatable {
        /// The field name.
        public let name: String
        /// Offset from the start of the report.
        public let offset: Int
        /// Size in bytes.
        public let size: Int
        /// `offset ..< offset + size`.
        public var range: Range<Int> { offset..<(offset + size) }
    }

    static let version = Region(name: "VERSION", offset: 0x000, size: 4)
    static let guestSVN = Region(name: "GUEST_SVN", offset: 0x004, size: 4)
    static let policy = Region(name: "POLICY", offset: 0x008, size: 8)
    static let familyID = Region(name: "FAMILY_ID", offset: 0x010, size: 16)
    static let imageID = Region(name: "IMAGE_ID", offset: 0x020, size: 16)
    static let vmpl = Region(name: "VMPL", offset: 0x030, size: 4)
    static let signatureAlgorithm = Region(name: "SIGNATURE_ALGO", offset: 0x034, size: 4)
    static let currentTCB = Region(name: "CURRENT_TCB", offset: 0x038, size: 8)
    static let platformInfo = Region(name: "PLATFORM_INFO", offset: 0x040, size: 8)
    static let signerInfo = Region(name: "SIGNER_INFO", offset: 0x048, size: 4)
    static let reserved04C = Region(name: "RESERVED_04C", offset: 0x04C, size: 4)
    static let reportData = Region(name: "REPORT_DATA", offset: 0x050, size: 64)
    static let measurement = Region(name: "MEASUREMENT", offset: 0x090, size: 48)
    static let hostData = Region(name: "HOST_DATA", offset: 0x0C0, size: 32)
    static let idKeyDigest = Region(name: "ID_KEY_DIGEST", offset: 0x0E0, size: 48)
    static let authorKeyDigest = Region(name: "AUTHOR_KEY_DIGEST", offset: 0x110, size: 48)
    static let reportID = Region(name: "REPORT_ID", offset: 0x140, size: 32)
    static let reportIDMA = Region(name: "REPORT_ID_MA", offset: 0x160, size: 32)
    static let reportedTCB = Region(name: "REPORTED_TCB", offset: 0x180, size: 8)
    static let cpuidFamily = Region(name: "CPUID_FAM_ID", offset: 0x188, size: 1)
    static let cpuidModel = Region(name: "CPUID_MOD_ID", offset: 0x189, size: 1)
    static let cpuidStepping = Region(name: "CPUID_STEP", offset: 0x18A, size: 1)
    static let reserved18B = Region(name: "RESERVED_18B", offset: 0x18B, size: 21)
    static let chipID = Region(name: "CHIP_ID", offset: 0x1A0, size: 64)
    static let committedTCB = Region(name: "COMMITTED_TCB", offset: 0x1E0, size: 8)
    static let currentBuild = Region(name: "CURRENT_BUILD", offset: 0x1E8, size: 1)
    static let currentMinor = Region(name: "CURRENT_MINOR", offset: 0x1E9, size: 1)
    static let currentMajor = Region(name: "CURRENT_MAJOR", offset: 0x1EA, size: 1)
    static let reserved1EB = Region(name: "RESERVED_1EB", offset: 0x1EB, size: 1)
    static let committedBuild = Region(name: "COMMITTED_BUILD", offset: 0x1EC, size: 1)
    static let committedMinor = Region(name: "COMMITTED_MINOR", offset: 0x1ED, size: 1)
    static let committedMajor = Region(name: "COMMITTED_MAJOR", offset: 0x1EE, size: 1)
    static let reserved1EF = Region(name: "RESERVED_1EF", offset: 0x1EF, size: 1)
    static let launchTCB = Region(name: "LAUNCH_TCB", offset: 0x1F0, size: 8)
    static let launchMitVector = Region(name: "LAUNCH_MIT_VECTOR", offset: 0x1F8, size: 8)
    static let currentMitVector = Region(name: "CURRENT_MIT_VECTOR", offset: 0x200, size: 8)
    static let reserved208 = Region(name: "RESERVED_208", offset: 0x208, size: 0x98)
    static let signatureR = Region(name: "SIGNATURE_R", offset: 0x2A0, size: 72)
    static let signatureS = Region(name: "SIGNATURE_S", offset: 0x2E8, size: 72)
    static let signatureReserved = Region(name: "SIGNATURE_RESERVED", offset: 0x330, size: 0x170)

    /// Every region in offset order.
    public static let regions: [Region] = [
        version, guestSVN, policy, familyID, imageID, vmpl, signatureAlgorithm, currentTCB, platformInfo,
        signerInfo, reserved04C, reportData, measurement, hostData, idKeyDigest, authorKeyDigest, reportID,
        reportIDMA, reportedTCB, cpuidFamily, cpuidModel, cpuidStepping, reserved18B, chipID, committedTCB,
        currentBuild, currentMinor, currentMajor, reserved1EB, committedBuild, committedMinor, committedMajor,
        reserved1EF, launchTCB, launchMitVector, currentMitVector, reserved208, signatureR, signatureS,
        signatureReserved,
    ]

    /// The regions covered by the signature (everything before 0x2A0).
    public static var signedRegions: [Region] { regions.filter { $0.offset < SNPReport.signedByteCount } }
}

extension SNPReport {
    /// Parses a report. Checks that there are exactly ``byteCount`` bytes and reads every field at its
    /// checked offset; it checks no values and no signature.
    ///
    /// - Parameter bytes: the raw `ATTESTATION_REPORT`, e.g. configfs-tsm `outblob`.
    /// - Throws: ``AttestationError`` with code `malformedEvidence` if the size is wrong.
    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count == SNPReport.byteCount else {
            throw AttestationError(
                .malformedEvidence, field: "report", expected: "\(SNPReport.byteCount) bytes",
                actual: "\(bytes.count) bytes",
                "an SEV-SNP attestation report is \(SNPReport.byteCount) bytes, this one is \(bytes.count); "
                    + "the evidence is truncated or is not an SNP report")
        }
        let r = LittleEndianReader(bytes: bytes, structure: "SNP report")
        typealias L = SNPReportLayout
        func raw(_ region: L.Region) throws(AttestationError) -> [UInt8] {
            try r.bytes(at: region.offset, count: region.size, field: region.name)
        }
        func u8(_ region: L.Region) throws(AttestationError) -> UInt8 { try r.u8(at: region.offset, field: region.name) }
        func u32(_ region: L.Region) throws(AttestationError) -> UInt32 { try r.u32(at: region.offset, field: region.name) }
        func u64(_ region: L.Region) throws(AttestationError) -> UInt64 { try r.u64(at: region.offset, field: region.name) }

        version = try u32(L.version)
        guestSVN = try u32(L.guestSVN)
        policy = SNPGuestPolicy(rawValue: try u64(L.policy))
        familyID = try raw(L.familyID)
        imageID = try raw(L.imageID)
        vmpl = try u32(L.vmpl)
        signatureAlgorithm = try u32(L.signatureAlgorithm)
        currentTCB = TCBVersion(rawValue: try u64(L.currentTCB))
        platformInfo = try u64(L.platformInfo)
        signerInfo = try u32(L.signerInfo)
        reservedAt04C = try u32(L.reserved04C)
        reportData = try raw(L.reportData)
        measurement = try raw(L.measurement)
        hostData = try raw(L.hostData)
        idKeyDigest = try raw(L.idKeyDigest)
        authorKeyDigest = try raw(L.authorKeyDigest)
        reportID = try raw(L.reportID)
        reportIDMA = try raw(L.reportIDMA)
        reportedTCB = TCBVersion(rawValue: try u64(L.reportedTCB))
        cpuidFamily = try u8(L.cpuidFamily)
        cpuidModel = try u8(L.cpuidModel)
        cpuidStepping = try u8(L.cpuidStepping)
        reservedAt18B = try raw(L.reserved18B)
        chipID = try raw(L.chipID)
        committedTCB = TCBVersion(rawValue: try u64(L.committedTCB))
        currentBuild = try u8(L.currentBuild)
        currentMinor = try u8(L.currentMinor)
        currentMajor = try u8(L.currentMajor)
        reservedAt1EB = try u8(L.reserved1EB)
        committedBuild = try u8(L.committedBuild)
        committedMinor = try u8(L.committedMinor)
        committedMajor = try u8(L.committedMajor)
        reservedAt1EF = try u8(L.reserved1EF)
        launchTCB = TCBVersion(rawValue: try u64(L.launchTCB))
        launchMitigationVector = try u64(L.launchMitVector)
        currentMitigationVector = try u64(L.currentMitVector)
        reservedAt208 = try raw(L.reserved208)
        signatureR = try raw(L.signatureR)
        signatureS = try raw(L.signatureS)
        signatureReserved = try raw(L.signatureReserved)
    }

    /// The report in its 1184-byte wire form. A parsed report serializes to exactly the bytes it was
    /// parsed from. Traps if a byte-array field was given the wrong size (a programming error).
    public func serialized() -> [UInt8] {
        var w = LittleEndianWriter(count: SNPReport.byteCount)
        typealias L = SNPReportLayout
        w.put(version, at: L.version.offset, field: L.version.name)
        w.put(guestSVN, at: L.guestSVN.offset, field: L.guestSVN.name)
        w.put(policy.rawValue, at: L.policy.offset, field: L.policy.name)
        for (value, region) in [(familyID, L.familyID), (imageID, L.imageID)] {
            w.put(value, at: region.offset, size: region.size, field: region.name)
        }
        w.put(vmpl, at: L.vmpl.offset, field: L.vmpl.name)
        w.put(signatureAlgorithm, at: L.signatureAlgorithm.offset, field: L.signatureAlgorithm.name)
        w.put(currentTCB.rawValue, at: L.currentTCB.offset, field: L.currentTCB.name)
        w.put(platformInfo, at: L.platformInfo.offset, field: L.platformInfo.name)
        w.put(signerInfo, at: L.signerInfo.offset, field: L.signerInfo.name)
        w.put(reservedAt04C, at: L.reserved04C.offset, field: L.reserved04C.name)
        let blocks: [([UInt8], L.Region)] = [
            (reportData, L.reportData), (measurement, L.measurement), (hostData, L.hostData),
            (idKeyDigest, L.idKeyDigest), (authorKeyDigest, L.authorKeyDigest), (reportID, L.reportID),
            (reportIDMA, L.reportIDMA),
        ]
        for (value, region) in blocks { w.put(value, at: region.offset, size: region.size, field: region.name) }
        w.put(reportedTCB.rawValue, at: L.reportedTCB.offset, field: L.reportedTCB.name)
        w.put(cpuidFamily, at: L.cpuidFamily.offset, field: L.cpuidFamily.name)
        w.put(cpuidModel, at: L.cpuidModel.offset, field: L.cpuidModel.name)
        w.put(cpuidStepping, at: L.cpuidStepping.offset, field: L.cpuidStepping.name)
        w.put(reservedAt18B, at: L.reserved18B.offset, size: L.reserved18B.size, field: L.reserved18B.name)
        w.put(chipID, at: L.chipID.offset, size: L.chipID.size, field: L.chipID.name)
        w.put(committedTCB.rawValue, at: L.committedTCB.offset, field: L.committedTCB.name)
        let singles: [(UInt8, L.Region)] = [
            (currentBuild, L.currentBuild), (currentMinor, L.currentMinor), (currentMajor, L.currentMajor),
            (reservedAt1EB, L.reserved1EB), (committedBuild, L.committedBuild), (committedMinor, L.committedMinor),
            (committedMajor, L.committedMajor), (reservedAt1EF, L.reserved1EF),
        ]
        for (value, region) in singles { w.put(value, at: region.offset, field: region.name) }
        w.put(launchTCB.rawValue, at: L.launchTCB.offset, field: L.launchTCB.name)
        w.put(launchMitigationVector, at: L.launchMitVector.offset, field: L.launchMitVector.name)
        w.put(currentMitigationVector, at: L.currentMitVector.offset, field: L.currentMitVector.name)
        let tail: [([UInt8], L.Region)] = [
            (reservedAt208, L.reserved208), (signatureR, L.signatureR), (signatureS, L.signatureS),
            (signatureReserved, L.signatureReserved),
        ]
        for (value, region) in tail { w.put(value, at: region.offset, size: region.size, field: region.name) }
        return w.bytes
    }

    /// The bytes the signature covers: `serialized()[0 ..< 0x2A0]`.
    public var signedBytes: [UInt8] {
        Array(serialized()[0..<SNPReport.signedByteCount])
    }
}
