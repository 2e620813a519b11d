import Foundation

/// A firmware image built by the tests: deterministic page contents, an SEV metadata block, and OVMF's
/// GUIDed footer table (SEV metadata offset, SEV-ES reset block, SEV hash table address, optionally TDX
/// metadata) laid out as OVMF's ResetVector lays them out, so that both our parser and sev-snp-measure read it.
struct SyntheticOVMF {
    /// One SEV metadata section: gpa, size, type (1 zero, 2 secrets, 3 CPUID, 4 SVSM CAA, 0x10 kernel hashes).
    struct Section { var gpa: UInt32; var size: UInt32; var type: UInt32 }
    /// One TDX metadata section (TDVF descriptor entry).
    struct TDXSection {
        var dataOffset: UInt32, rawSize: UInt32, address: UInt64, memorySize: UInt64, type: UInt32, attributes: UInt32
    }

    var pages = 32
    var seed: UInt8 = 7
    var sections: [Section]? = SyntheticOVMF.standardSections(kernelHashes: true)
    var resetEIP: UInt32? = 0x80b004
    var hashTableGPA: UInt32? = 0x80f000
    var tdxSections: [TDXSection]?
    /// Extra footer entries (GUID text form, data), placed first.
    var extraEntries: [(String, [UInt8])] = []

    /// The sections of an OVMF AmdSev build: zero pages, secrets, CPUID, kernel hashes, more zero pages.
    static func standardSections(kernelHashes: Bool) -> [Section] {
        var list = [Section(gpa: 0x800000, size: 0x9000, type: 1), Section(gpa: 0x80a000, size: 0x3000, type: 1),
                    Section(gpa: 0x80d000, size: 0x1000, type: 2), Section(gpa: 0x80e000, size: 0x1000, type: 3)]
        if kernelHashes { list.append(Section(gpa: 0x80f000, size: 0x1000, type: 0x10)) }
        list.append(Section(gpa: 0x810000, size: 0x10000, type: 1))
        return list
    }

    /// The image bytes.
    func build() -> [UInt8] {
        let size = pages * 4096
        var image = (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ ($0 >> 12) &+ Int(seed)) }
        // Metadata blocks live in the second-to-last page (as OVMF's ResetVector puts them near the end).
        var cursor = size - 8192
        var entries = extraEntries.map { (Self.guid($0.0), $0.1) }
        if let sections {
            let start = cursor
            var block = Array("ASEV".utf8) + le32(UInt32(16 + 12 * sections.count)) + le32(1) + le32(UInt32(sections.count))
            for section in sections { block += le32(section.gpa) + le32(section.size) + le32(section.type) }
            image.replaceSubrange(start..<(start + block.count), with: block)
            cursor += (block.count + 15) & ~15
            entries.append((Self.guid("dc886566-984a-4798-a75e-5585a7bf67cc"), le32(UInt32(size - start))))
        }
        if let tdxSections {
            let start = cursor
            var block = Array("TDVF".utf8) + le32(UInt32(16 + 32 * tdxSections.count)) + le32(1) + le32(UInt32(tdxSections.count))
            for s in tdxSections {
                block += le32(s.dataOffset) + le32(s.rawSize) + le64(s.address) + le64(s.memorySize) + le32(s.type) + le32(s.attributes)
            }
            image.replaceSubrange(start..<(start + block.count), with: block)
            entries.append((Self.guid("e47a6535-984a-4798-865e-4685a7bf8ec2"), le32(UInt32(size - start))))
        }
        if let resetEIP { entries.append((Self.guid("00f771de-1a7e-4fcb-890e-68c77e2fb44e"), le32(resetEIP))) }
        if let hashTableGPA { entries.append((Self.guid("7255371f-3a3b-4b04-927b-1da6efa8d454"), le32(hashTableGPA) + le32(0x400))) }
        // The table: each entry is data, then its 2-byte size (data + 18) and GUID; the footer entry last,
        // its size covering the whole table; the table ends 32 bytes before the end of the image.
        var table: [UInt8] = []
        for (guid, data) in entries { table += data + le16(UInt16(data.count + 18)) + guid }
        table += le16(UInt16(table.count + 18)) + Self.guid("96b582de-1fb2-45f7-baea-a366c55a082d")
        let end = size - 32
        image.replaceSubrange((end - table.count)..<end, with: table)
        return image
    }

    /// Writes the image to `url`.
    func write(to url: URL) throws { try Data(build()).write(to: url) }

    /// A GUID's stored bytes (first three fields little-endian).
    static func guid(_ text: String) -> [UInt8] {
        let fields = text.split(separator: "-").map { field -> [UInt8] in
            stride(from: 0, to: field.count, by: 2).map {
                let start = field.index(field.startIndex, offsetBy: $0)
                return UInt8(field[start..<field.index(start, offsetBy: 2)], radix: 16)!
            }
        }
        return fields[0].reversed() + fields[1].reversed() + fields[2].reversed() + fields[3] + fields[4]
    }
}

func le16(_ value: UInt16) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
