import EnclavaCrypto

/// The SEV-SNP launch digest as the firmware builds it during SNP_LAUNCH_UPDATE (AMD SEV-SNP ABI
/// specification, "PAGE_INFO" layout): each page measured replaces the digest with SHA-384 of a 112-byte
/// PAGE_INFO holding the previous digest, the page's contents digest, its type and its guest physical address.
public struct SNPLaunchDigest: Sendable, Equatable {
    /// The page types of SNP_LAUNCH_UPDATE.
    public enum PageType: UInt8, Sendable {
        /// A page of data, measured by its SHA-384.
        case normal = 1
        /// A vCPU save area (measured by its SHA-384, at the VMSA address).
        case vmsa = 2
        /// A page the firmware zeroes.
        case zero = 3
        /// A page whose contents are not measured.
        case unmeasured = 4
        /// The SNP secrets page.
        case secrets = 5
        /// The CPUID page (the firmware checks it; its contents are not measured).
        case cpuid = 6
    }

    /// Where VMSAs are measured: GPA −1, page-aligned and cut to 52 bits, as the firmware records it.
    static let vmsaGPA: UInt64 = 0xFFFF_FFFF_F000
    /// The size of a PAGE_INFO structure.
    static let pageInfoSize = 0x70

    /// The current digest (48 bytes; all zero before the first page).
    public private(set) var value = [UInt8](repeating: 0, count: 48)

    /// A digest before any page.
    public init() {}

    /// Measures one page of `type` at `gpa` whose contents digest is `contents` (48 bytes; zeros for the
    /// types whose contents are not measured).
    public mutating func update(_ type: PageType, gpa: UInt64, contents: [UInt8]) {
        precondition(contents.count == 48)
        var info = value + contents
        info.appendLittleEndian(UInt16(Self.pageInfoSize))
        info.append(type.rawValue)
        info.append(0)                        // IS_IMI
        info += [0, 0, 0, 0]                  // VMPL3, VMPL2, VMPL1 permissions, reserved
        info.appendLittleEndian(gpa)
        value = SHA2.sha384(info)
    }

    /// Measures `data` (whole pages) as normal pages from `gpa` up.
    public mutating func updateNormalPages(gpa: UInt64, data: ArraySlice<UInt8>) {
        precondition(data.count % 4096 == 0)
        var offset = 0
        while offset < data.count {
            let start = data.startIndex + offset
            update(.normal, gpa: gpa + UInt64(offset), contents: SHA2.sha384(Array(data[start..<(start + 4096)])))
            offset += 4096
        }
    }

    /// Measures `size` bytes (whole pages) from `gpa` up as pages of `type`, whose contents are not measured.
    public mutating func updateContentless(_ type: PageType, gpa: UInt64, size: UInt64) {
        precondition(size % 4096 == 0 && type != .normal && type != .vmsa)
        let zeros = [UInt8](repeating: 0, count: 48)
        var offset: UInt64 = 0
        while offset < size {
            update(type, gpa: gpa + offset, contents: zeros)
            offset += 4096
        }
    }

    /// Measures one VMSA page.
    public mutating func updateVMSA(_ page: [UInt8]) {
        precondition(page.count == 4096)
        update(.vmsa, gpa: Self.vmsaGPA, contents: SHA2.sha384(page))
    }
}
