import EnclavaCrypto

/// The SHA-256 digests of a direct kernel boot (kernel, initrd, command line) in the GUIDed table QEMU writes
/// into the firmware's kernel-hashes page, which OVMF checks before it runs the kernel.
public struct SEVKernelHashes: Sendable, Equatable {
    /// SHA-256 of the kernel image.
    public let kernel: [UInt8]
    /// SHA-256 of the initrd (of no bytes when there is none).
    public let initrd: [UInt8]
    /// SHA-256 of the command line and its terminating NUL.
    public let cmdline: [UInt8]

    static let tableGUID = FirmwareGUID("9438d606-4f22-4cc9-b479-a793d411fd21")
    static let kernelGUID = FirmwareGUID("4de79437-abd2-427f-b835-d5b172d2045b")
    static let initrdGUID = FirmwareGUID("44baf731-3a2f-4bd7-9af1-41e29169781d")
    static let cmdlineGUID = FirmwareGUID("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
    /// GUID and length, then three entries of GUID, length and SHA-256.
    static let tableSize = 18 + 3 * 50
    /// The table padded to 16 bytes, as QEMU writes it.
    static let paddedTableSize = (tableSize + 15) & ~15

    /// The hashes of the given digests.
    public init(kernel: [UInt8], initrd: [UInt8], cmdline: [UInt8]) {
        precondition(kernel.count == 32 && initrd.count == 32 && cmdline.count == 32)
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
    }

    /// The hashes of the files and command line QEMU is given (`-kernel`, `-initrd`, `-append`).
    /// - Throws: ``MeasurementError`` `.fileUnreadable` for a missing or unreadable kernel or initrd.
    public init(kernelPath: String, initrdPath: String?, cmdline: String) throws {
        func hash(_ path: String, what: String) throws -> [UInt8] {
            do { return try SHA2.hashFile(.sha256, path: path) } catch {
                throw MeasurementError(.fileUnreadable, "\(what) \(path) does not exist or cannot be read; check the path")
            }
        }
        self.init(kernel: try hash(kernelPath, what: "kernel"),
                  initrd: try initrdPath.map { try hash($0, what: "initrd") } ?? SHA2.sha256([]),
                  cmdline: Self.cmdlineDigest(cmdline))
    }

    /// SHA-256 of `cmdline` as QEMU passes it to the kernel: UTF-8 with a terminating NUL.
    public static func cmdlineDigest(_ cmdline: String) -> [UInt8] { SHA2.sha256(Array(cmdline.utf8) + [0]) }

    /// The padded table (176 bytes): header GUID and length, then the command line, initrd and kernel entries.
    public var table: [UInt8] {
        var bytes = Self.tableGUID.bytes
        bytes.appendLittleEndian(UInt16(Self.tableSize))
        for (guid, digest) in [(Self.cmdlineGUID, cmdline), (Self.initrdGUID, initrd), (Self.kernelGUID, kernel)] {
            bytes += guid.bytes
            bytes.appendLittleEndian(UInt16(50))
            bytes += digest
        }
        return bytes + [UInt8](repeating: 0, count: Self.paddedTableSize - Self.tableSize)
    }

    /// The 4 KiB page holding the table at `offset`, zeros around it.
    func page(tableOffset offset: Int) -> [UInt8] {
        precondition(offset + Self.paddedTableSize <= 4096)
        var page = [UInt8](repeating: 0, count: 4096)
        page.replaceSubrange(offset..<(offset + Self.paddedTableSize), with: table)
        return page
    }
}
