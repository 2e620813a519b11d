/// One section of TDVF's TDX metadata (the TDVF descriptor): guest memory QEMU adds to the TD before it runs.
public struct TDVFSection: Sendable, Equatable {
    /// Attribute bit 0: the section's contents are measured into MRTD (TDH.MR.EXTEND).
    public static let mrExtend: UInt32 = 0x1
    /// Attribute bit 1: the section is added after launch (TDH.MEM.PAGE.AUG), so not measured into MRTD.
    public static let pageAug: UInt32 = 0x2

    /// Where the section's raw data starts in the firmware image.
    public let dataOffset: UInt32
    /// The raw data's size in the image.
    public let rawDataSize: UInt32
    /// The first guest physical address.
    public let memoryAddress: UInt64
    /// The size in guest memory (whole pages).
    public let memoryDataSize: UInt64
    /// The type: 0 BFV, 1 CFV, 2 TD_HOB, 3 TempMem, 4 PermMem, 5 Payload, 6 PayloadParam.
    public let type: UInt32
    /// The attributes (``mrExtend``, ``pageAug``).
    public let attributes: UInt32
}

extension OVMFFirmware {
    /// The most TDX sections accepted (real TDVF images have 6–8).
    static let maximumTDXSections = 64
    /// The most pages all sections may add together (real TDVF images add about 1 050).
    static let maximumTDXPages: UInt64 = 0x10000

    /// The TDX metadata sections in their order, or nil when the image has no TDX metadata entry.
    /// - Throws: ``MeasurementError`` `.firmwareInvalid` when the descriptor or a section is out of bounds,
    ///   unaligned, or measures data the image does not hold.
    public func tdxMetadataSections() throws -> [TDVFSection]? {
        guard let offset = try entryUInt32(.tdxMetadata).map(Int.init) else { return nil }
        func damaged(_ what: String) -> MeasurementError {
            MeasurementError(.firmwareInvalid, "\(name): the TDX metadata \(what); the image is damaged, rebuild or re-download it")
        }
        guard offset >= 16, offset <= bytes.count else { throw damaged("starts \(offset) bytes from the end, outside the image") }
        let start = bytes.count - offset
        guard bytes[start..<(start + 4)].elementsEqual(Array("TDVF".utf8)) else { throw damaged("lacks its TDVF signature") }
        let version = bytes.littleEndian(UInt32.self, at: start + 8)
        let count = Int(bytes.littleEndian(UInt32.self, at: start + 12))
        guard version == 1 else { throw damaged("has version \(version); only version 1 is known") }
        guard count <= Self.maximumTDXSections, 16 + 32 * count <= offset else {
            throw damaged("lists \(count) sections, more than the image or the limit of \(Self.maximumTDXSections) holds")
        }
        var sections: [TDVFSection] = []
        var pages: UInt64 = 0
        for index in 0..<count {
            let at = start + 16 + 32 * index
            let section = TDVFSection(
                dataOffset: bytes.littleEndian(UInt32.self, at: at), rawDataSize: bytes.littleEndian(UInt32.self, at: at + 4),
                memoryAddress: bytes.littleEndian(UInt64.self, at: at + 8), memoryDataSize: bytes.littleEndian(UInt64.self, at: at + 16),
                type: bytes.littleEndian(UInt32.self, at: at + 24), attributes: bytes.littleEndian(UInt32.self, at: at + 28))
            guard section.memoryAddress % 4096 == 0, section.memoryDataSize % 4096 == 0,
                  section.memoryDataSize >= UInt64(section.rawDataSize) else {
                throw damaged("section \(index) is not whole 4 KiB pages or holds more data than memory")
            }
            pages += section.memoryDataSize / 4096
            guard pages <= Self.maximumTDXPages else { throw damaged("sections add more than \(Self.maximumTDXPages) pages") }
            if section.attributes & TDVFSection.mrExtend != 0 {
                guard UInt64(section.rawDataSize) == section.memoryDataSize,
                      UInt64(section.dataOffset) + UInt64(section.rawDataSize) <= UInt64(bytes.count) else {
                    throw damaged("section \(index) measures data outside the image")
                }
            }
            sections.append(section)
        }
        return sections
    }
}
