import EnclavaCrypto
import EnclavaMeasure
import EnclavaTesting
import Foundation
import Testing

/// Bad input gives a specific error naming what to change; the building blocks have the layouts the specs give.
struct SNPMeasurementInputTests {
    static func firmware(_ image: SyntheticOVMF = SyntheticOVMF()) throws -> OVMFFirmware {
        try OVMFFirmware(bytes: image.build(), name: "test.fd")
    }

    static func measurement(_ firmware: OVMFFirmware, vcpus: Int = 1, kernel: Bool = false) throws -> SNPLaunchMeasurement {
        let hashes = kernel ? SEVKernelHashes(kernel: SHA2.sha256([1]), initrd: SHA2.sha256([]), cmdline: SHA2.sha256([0])) : nil
        return try SNPLaunchMeasurement(firmware: firmware, vcpus: vcpus, cpuType: try SNPCPUType(parsing: "EPYC-v4"),
                                        kernelHashes: hashes)
    }

    @Test func aMissingFirmwareFileIsNamed() {
        #expect(throws: MeasurementError(.fileUnreadable, "firmware /nonexistent/OVMF.fd does not exist or cannot be read; check the path")) {
            try OVMFFirmware(path: "/nonexistent/OVMF.fd")
        }
    }

    @Test func aMissingKernelIsNamed() {
        #expect(throws: MeasurementError(.fileUnreadable, "kernel /nonexistent/vmlinuz does not exist or cannot be read; check the path")) {
            try SEVKernelHashes(kernelPath: "/nonexistent/vmlinuz", initrdPath: nil, cmdline: "")
        }
    }

    @Test(arguments: [0, -1, SNPLaunchMeasurement.maximumVCPUs + 1])
    func vcpuCountsOutOfRangeAreRefused(_ vcpus: Int) throws {
        let error = #expect(throws: MeasurementError.self) { try Self.measurement(try Self.firmware(), vcpus: vcpus) }
        #expect(error?.code == .invalidOption)
        #expect(error?.message == "--vcpus must be 1…1024 (the -smp count QEMU is given), got \(vcpus)")
    }

    @Test func anUnknownVCPUTypeListsTheKnownOnes() {
        let error = #expect(throws: MeasurementError.self) { try SNPCPUType(parsing: "Skylake-Server") }
        #expect(error?.code == .invalidOption)
        #expect(error?.message.hasPrefix("--vcpu-type Skylake-Server is not a known QEMU EPYC model; use one of EPYC, EPYC-v1") == true)
    }

    @Test func anUnknownVMMListsTheKnownOnes() {
        #expect(throws: MeasurementError(.invalidOption, "--vmm azure is not known; use one of qemu, ec2, gce")) {
            try SNPVMM(parsing: "azure")
        }
    }

    @Test func firmwareWithoutSEVMetadataIsRefused() throws {
        var image = SyntheticOVMF()
        image.sections = nil
        let error = #expect(throws: MeasurementError.self) { try Self.measurement(try Self.firmware(image)).digest() }
        #expect(error?.code == .firmwareLacksSEV)
        #expect(error?.message.hasPrefix("test.fd has no SEV metadata, so it cannot launch an SEV-SNP guest; use an OVMF built with SEV-SNP support") == true)
    }

    /// Debian's 4 MiB OVMF_CODE has a footer table but no SEV metadata: a real image that must be refused.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/OVMF/OVMF_CODE_4M.fd"), "needs Debian's ovmf package"))
    func debiansFourMegabyteCodeImageIsRefused() throws {
        let firmware = try OVMFFirmware(path: "/usr/share/OVMF/OVMF_CODE_4M.fd")
        let error = #expect(throws: MeasurementError.self) { try Self.measurement(firmware).digest() }
        #expect(error?.code == .firmwareLacksSEV)
    }

    @Test func firmwareWithoutResetBlockIsRefused() throws {
        var image = SyntheticOVMF()
        image.resetEIP = nil
        let error = #expect(throws: MeasurementError.self) { try Self.measurement(try Self.firmware(image)).digest() }
        #expect(error?.code == .firmwareLacksSEV)
    }

    @Test func aKernelWithoutAHashesSectionIsRefused() throws {
        var image = SyntheticOVMF()
        image.sections = SyntheticOVMF.standardSections(kernelHashes: false)
        let error = #expect(throws: MeasurementError.self) { try Self.measurement(try Self.firmware(image), kernel: true).digest() }
        #expect(error?.code == .firmwareLacksKernelHashes)
        #expect(error?.message.contains("OvmfPkg/AmdSev/AmdSevX64.dsc, or drop --kernel/--bundle") == true)
    }

    @Test(arguments: [0, 4095, 4097])
    func firmwareNotWholePagesIsRefused(_ size: Int) {
        let error = #expect(throws: MeasurementError.self) { try OVMFFirmware(bytes: [UInt8](repeating: 0, count: size), name: "x.fd") }
        #expect(error?.code == .firmwareInvalid)
    }

    /// A hostile footer: an entry that claims more bytes than the table holds.
    @Test func aFooterEntryLongerThanTheTableIsRefused() throws {
        var bytes = SyntheticOVMF().build()
        let footerStart = bytes.count - 32 - 18
        let firstEntryHeader = footerStart - 18
        bytes[firstEntryHeader] = 0xff
        bytes[firstEntryHeader + 1] = 0xff
        let error = #expect(throws: MeasurementError.self) { try OVMFFirmware(bytes: bytes, name: "x.fd") }
        #expect(error?.code == .firmwareInvalid)
    }

    @Test func anUnknownSectionTypeIsRefused() throws {
        var image = SyntheticOVMF()
        image.sections = [.init(gpa: 0x800000, size: 0x1000, type: 9)]
        let error = #expect(throws: MeasurementError.self) { try Self.firmware(image).sevMetadataSections() }
        #expect(error?.code == .firmwareInvalid)
        #expect(error?.message.contains("section 0 has the unknown type 9") == true)
    }

    @Test func aHostileSectionSizeIsRefusedBeforeHashing() throws {
        var image = SyntheticOVMF()
        image.sections = [.init(gpa: 0, size: 0xFFFF_F000, type: 1)]
        let error = #expect(throws: MeasurementError.self) { try Self.firmware(image).sevMetadataSections() }
        #expect(error?.message.contains("sections cover more than 64 MiB") == true)
    }

    // MARK: Building blocks

    /// CPUID signatures of AMD's CPUID specification: family 17h model 01h stepping 2 is 0x00800F12.
    @Test func cpuSignatures() throws {
        #expect(try SNPCPUType(parsing: "EPYC-v4").signature == 0x0080_0F12)
        #expect(try SNPCPUType(parsing: "epyc-milan").signature == 0x00A0_0F11)
        #expect(try SNPCPUType(parsing: "EPYC-Genoa").signature == 0x00A1_0F10)
        #expect(SNPCPUType.signature(family: 6, model: 0x8f, stepping: 8) == 0x0008_06F8)
    }

    /// The hashes table: 168 bytes padded to 176, header GUID first, entries command line, initrd, kernel.
    @Test func kernelHashesTableLayout() {
        let hashes = SEVKernelHashes(kernel: [UInt8](repeating: 0xaa, count: 32), initrd: [UInt8](repeating: 0xbb, count: 32),
                                     cmdline: [UInt8](repeating: 0xcc, count: 32))
        let table = hashes.table
        #expect(table.count == 176)
        #expect(Array(table[0..<16]) == SyntheticOVMF.guid("9438d606-4f22-4cc9-b479-a793d411fd21"))
        #expect(table[16] == 168 && table[17] == 0)
        #expect(Array(table[18..<34]) == SyntheticOVMF.guid("97d02dd8-bd20-4c94-aa78-e7714d36ab2a"))
        #expect(table[34] == 50 && Array(table[36..<68]) == [UInt8](repeating: 0xcc, count: 32))
        #expect(Array(table[136..<168]) == [UInt8](repeating: 0xaa, count: 32))
        #expect(Array(table[168...]) == [UInt8](repeating: 0, count: 8))
        #expect(SEVKernelHashes.cmdlineDigest("") == SHA2.sha256([0]))
    }

    /// One PAGE_INFO step, spelled out: SHA-384(previous ‖ contents ‖ 0x70 0x00 ‖ type ‖ 0 ‖ 0,0,0,0 ‖ gpa).
    @Test func pageInfoStep() {
        var digest = SNPLaunchDigest()
        let contents = SHA2.sha384([1, 2, 3])
        digest.update(.normal, gpa: 0xffe0_0000, contents: contents)
        let info = [UInt8](repeating: 0, count: 48) + contents + [0x70, 0x00, 0x01, 0x00, 0, 0, 0, 0]
            + [0x00, 0x00, 0xe0, 0xff, 0, 0, 0, 0]
        #expect(info.count == 112)
        #expect(digest.value == SHA2.sha384(info))
    }

    /// The VMSA fields sit where APM table B-4 puts them.
    @Test func vmsaLayout() {
        let page = SNPVMSA.page(eip: 0x80b004, sevFeatures: 0x21, signature: 0x800f12, vmm: .qemu)
        #expect(page.count == 4096)
        #expect(Array(page[0x10..<0x20]) == le16(0xf000) + le16(0x9b) + le32(0xffff) + le64(0x80_0000))   // CS
        #expect(Array(page[0x178..<0x180]) == le64(0xb004))                                             // RIP
        #expect(Array(page[0x310..<0x318]) == le64(0x800f12))                                           // RDX
        #expect(Array(page[0x3b0..<0x3b8]) == le64(0x21))                                               // SEV_FEATURES
        let ec2 = SNPVMSA.page(eip: SNPVMSA.bspResetEIP, sevFeatures: 1, signature: 0x800f12, vmm: .ec2)
        #expect(ec2[0x12] == 0x9a && Array(ec2[0x310..<0x318]) == le64(0x600))
    }

    /// Real OVMF's footer table parses: Debian's image has SEV metadata and a reset block.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/ovmf/OVMF.fd"), "needs Debian's ovmf package"))
    func debianOVMFParses() throws {
        let firmware = try OVMFFirmware(path: "/usr/share/ovmf/OVMF.fd")
        let sections = try #require(try firmware.sevMetadataSections())
        #expect(sections.first == SEVMetadataSection(gpa: 0x800000, size: 0x9000, kind: .zero))
        #expect(sections.contains { $0.kind == .secrets } && sections.contains { $0.kind == .cpuid })
        #expect(try firmware.sevESResetEIP() == 0x80b004)
    }
}
