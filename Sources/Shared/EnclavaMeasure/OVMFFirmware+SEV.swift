/// One section of OVMF's SEV metadata (`OvmfSevMetadata.asm`): guest memory the VMM prepares at launch.
public struct SEVMetadataSection: Sendable, Equatable {
    /// What the VMM puts in the section, and how it is measured.
    public enum Kind: UInt32, Sendable {
        /// Pre-validated memory the firmware needs zeroed (zero pages; GCE: unmeasured pages).
        case zero = 1
        /// The SNP secrets page.
        case secrets = 2
        /// The CPUID page.
        case cpuid = 3
        /// The SVSM calling-area page (zero page).
        case svsmCallingArea = 4
        /// The page holding the kernel, initrd and command-line hashes (direct kernel boot).
        case kernelHashes = 0x10
    }

    /// The first guest physical address.
    public let gpa: UInt64
    /// The size in bytes (a multiple of 4 KiB).
    public let size: UInt64
    /// The kind.
    public let kind: Kind

    /// A section of `size` bytes of `kind` from `gpa`.
    public init(gpa: UInt64, size: UInt64, kind: Kind) {
        self.gpa = gpa
        self.size = size
        self.kind = kind
    }
}

extension OVMFFirmware {
    /// The most sections accepted (real OVMF images have 5–6).
    static let maximumSEVSections = 64
    /// The most bytes all sections may cover together (real images cover under 256 KiB).
    static let maximumSEVSectionBytes: UInt64 = 64 << 20

    /// The SEV metadata sections in their order, or nil when the image has no SEV metadata entry.
    /// - Throws: ``MeasurementError`` `.firmwareInvalid` when the metadata is out of bounds, has a wrong
    ///   signature or version, an unknown section type, or sections that are not page-aligned.
    public func sevMetadataSections() throws -> [SEVMetadataSection]? {
        guard let offset = try entryUInt32(.sevMetadata).map(Int.init) else { return nil }
        func damaged(_ what: String) -> MeasurementError {
            MeasurementError(.firmwareInvalid, "\(name): the SEV metadata \(what); the image is damaged, rebuild or re-download it")
        }
        guard offset >= 16, offset <= bytes.count else { throw damaged("starts \(offset) bytes from the end, outside the image") }
        let start = bytes.count - offset
        guard bytes[start..<(start + 4)].elementsEqual(Array("ASEV".utf8)) else { throw damaged("lacks its ASEV signature") }
        let size = Int(bytes.littleEndian(UInt32.self, at: start + 4))
        let version = bytes.littleEndian(UInt32.self, at: start + 8)
        let count = Int(bytes.littleEndian(UInt32.self, at: start + 12))
        guard version == 1 else { throw damaged("has version \(version); only version 1 is known") }
        guard count <= Self.maximumSEVSections else { throw damaged("lists \(count) sections, more than \(Self.maximumSEVSections)") }
        guard size >= 16 + 12 * count, size <= offset else { throw damaged("claims \(size) bytes for \(count) sections") }
        var sections: [SEVMetadataSection] = []
        var total: UInt64 = 0
        for index in 0..<count {
            let at = start + 16 + 12 * index
            let gpa = UInt64(bytes.littleEndian(UInt32.self, at: at))
            let length = UInt64(bytes.littleEndian(UInt32.self, at: at + 4))
            let rawKind = bytes.littleEndian(UInt32.self, at: at + 8)
            guard let kind = SEVMetadataSection.Kind(rawValue: rawKind) else {
                throw damaged("section \(index) has the unknown type \(rawKind)")
            }
            guard gpa % 4096 == 0, length % 4096 == 0, length > 0 else {
                throw damaged("section \(index) (gpa 0x\(String(gpa, radix: 16)), \(length) bytes) is not whole 4 KiB pages")
            }
            total += length
            guard total <= Self.maximumSEVSectionBytes else {
                throw damaged("sections cover more than \(Self.maximumSEVSectionBytes >> 20) MiB")
            }
            sections.append(SEVMetadataSection(gpa: gpa, size: length, kind: kind))
        }
        return sections
    }

    /// The application processors' reset address (the SEV-ES reset block), or nil without one.
    public func sevESResetEIP() throws -> UInt32? { try entryUInt32(.sevESResetBlock) }

    /// The guest physical address of QEMU's kernel-hashes table, or nil when the image names none.
    public func sevHashTableGPA() throws -> UInt32? { try entryUInt32(.sevHashTable) }
}
