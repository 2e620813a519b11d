import EnclavaCrypto

/// A TD's MRTD as the TDX module builds it while QEMU adds TDVF's sections (Intel TDX module base spec,
/// TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): one SHA-384 over, per page added, a 128-byte `MEM.PAGE.ADD` record with
/// its GPA, and, for sections with the MR.EXTEND attribute, per 256-byte chunk a 128-byte `MR.EXTEND` record
/// with its GPA followed by the chunk.
public struct TDXMeasurement: Sendable {
    /// The order in which the VMM issues the two calls.
    public enum PageAddOrder: String, Sendable, CaseIterable {
        /// Each page is added, then its chunks extended (KVM since Linux 6.16 with QEMU 10.1: upstream TDX).
        case perPage = "per-page"
        /// A section's pages are all added, then all extended (the earlier TDX KVM and QEMU trees).
        case twoPass = "two-pass"
    }

    /// The firmware (a TDVF: OVMF built with TDX support).
    public let firmware: OVMFFirmware
    /// The order of PAGE.ADD and MR.EXTEND.
    public let order: PageAddOrder

    /// The measurement of `firmware` added in `order`.
    public init(firmware: OVMFFirmware, order: PageAddOrder = .perPage) {
        self.firmware = firmware
        self.order = order
    }

    /// MRTD (48 bytes).
    /// - Throws: ``MeasurementError`` `.firmwareLacksTDX` when the firmware has no TDX metadata,
    ///   `.firmwareInvalid` when the metadata is malformed.
    public func mrtd() throws -> [UInt8] {
        guard let sections = try firmware.tdxMetadataSections(), !sections.isEmpty else {
            throw MeasurementError(.firmwareLacksTDX, "\(firmware.name) has no TDX metadata, so it cannot launch a TD; "
                                   + "use a TDVF (OVMF built with TDX support, e.g. Debian's /usr/share/ovmf/OVMF.fd or OvmfPkg/IntelTdx)")
        }
        var hasher = StreamingHasher(.sha384)
        for section in sections {
            let pages = Int(section.memoryDataSize / 4096)
            switch order {
            case .perPage:
                for page in 0..<pages {
                    addPage(section, page, &hasher)
                    extendPage(section, page, &hasher)
                }
            case .twoPass:
                for page in 0..<pages { addPage(section, page, &hasher) }
                for page in 0..<pages { extendPage(section, page, &hasher) }
            }
        }
        return hasher.finalize()
    }

    /// A 128-byte record: the operation's name, zero-padded to 16 bytes, then the GPA, then zeros.
    static func record(_ operation: String, gpa: UInt64) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: 128)
        record.replaceSubrange(0..<operation.utf8.count, with: operation.utf8)
        record.setLittleEndian(gpa, at: 16)
        return record
    }

    private func addPage(_ section: TDVFSection, _ page: Int, _ hasher: inout StreamingHasher) {
        guard section.attributes & TDVFSection.pageAug == 0 else { return }
        hasher.update(Self.record("MEM.PAGE.ADD", gpa: section.memoryAddress + UInt64(page) * 4096))
    }

    private func extendPage(_ section: TDVFSection, _ page: Int, _ hasher: inout StreamingHasher) {
        guard section.attributes & TDVFSection.mrExtend != 0 else { return }
        for chunk in 0..<16 {
            let offset = page * 4096 + chunk * 256
            hasher.update(Self.record("MR.EXTEND", gpa: section.memoryAddress + UInt64(offset)))
            let start = Int(section.dataOffset) + offset
            hasher.update(Array(firmware.bytes[start..<(start + 256)]))
        }
    }
}
