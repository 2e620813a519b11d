/// What determines an SEV-SNP guest's launch MEASUREMENT, and its computation: the firmware pages, its
/// metadata sections (with the kernel-hashes page for a direct kernel boot), then one VMSA per vCPU.
public struct SNPLaunchMeasurement: Sendable {
    /// The most vCPUs accepted (QEMU's q35 machine allows 1024 with x2APIC).
    public static let maximumVCPUs = 1024

    /// The firmware (OVMF built with SEV support; AmdSev's OVMF for a measured direct kernel boot).
    public let firmware: OVMFFirmware
    /// The number of vCPUs (`-smp`).
    public let vcpus: Int
    /// The vCPU model (`-cpu`).
    public let cpuType: SNPCPUType
    /// The VMM.
    public let vmm: SNPVMM
    /// The guest's SEV features (the VMSA's SEV_FEATURES; bit 0, SNP active, is what QEMU sets by default).
    public let guestFeatures: UInt64
    /// The direct kernel boot's hashes, or nil when the firmware boots from disk.
    public let kernelHashes: SEVKernelHashes?

    /// The guest features sev-snp-measure and QEMU use unless told otherwise: SNP active.
    public static let defaultGuestFeatures: UInt64 = 0x1

    /// The inputs, checked.
    /// - Throws: ``MeasurementError`` `.invalidOption` for a vCPU count outside 1…``maximumVCPUs``.
    public init(firmware: OVMFFirmware, vcpus: Int, cpuType: SNPCPUType, vmm: SNPVMM = .qemu,
                guestFeatures: UInt64 = defaultGuestFeatures, kernelHashes: SEVKernelHashes?) throws {
        guard (1...Self.maximumVCPUs).contains(vcpus) else {
            throw MeasurementError(.invalidOption, "--vcpus must be 1…\(Self.maximumVCPUs) (the -smp count QEMU is given), got \(vcpus)")
        }
        self.firmware = firmware
        self.vcpus = vcpus
        self.cpuType = cpuType
        self.vmm = vmm
        self.guestFeatures = guestFeatures
        self.kernelHashes = kernelHashes
    }

    /// The launch digest (48 bytes) the SEV-SNP firmware will report as MEASUREMENT.
    /// - Throws: ``MeasurementError`` `.firmwareLacksSEV` when the firmware has no SEV metadata or SEV-ES reset
    ///   block, `.firmwareLacksKernelHashes` when kernel hashes are given and the firmware has no place for them,
    ///   `.firmwareInvalid` for malformed metadata.
    public func digest() throws -> [UInt8] {
        let name = firmware.name
        guard let sections = try firmware.sevMetadataSections(), !sections.isEmpty else {
            throw MeasurementError(.firmwareLacksSEV, "\(name) has no SEV metadata, so it cannot launch an SEV-SNP guest; "
                                   + "use an OVMF built with SEV-SNP support (Debian's /usr/share/ovmf/OVMF.fd, or OvmfPkg/AmdSev for kernel hashes)")
        }
        guard let apEIP = try firmware.sevESResetEIP(), apEIP != 0 else {
            throw MeasurementError(.firmwareLacksSEV, "\(name) has no SEV-ES reset block for the application processors; "
                                   + "use an OVMF built with SEV-ES/SNP support")
        }
        if kernelHashes != nil, !sections.contains(where: { $0.kind == .kernelHashes }) {
            throw MeasurementError(.firmwareLacksKernelHashes, "\(name) has no kernel-hashes section, so a direct kernel boot "
                                   + "is not measured; use an OVMF built from OvmfPkg/AmdSev/AmdSevX64.dsc, or drop --kernel/--bundle")
        }
        var digest = SNPLaunchDigest()
        digest.updateNormalPages(gpa: firmware.gpa, data: firmware.bytes[...])
        for section in sections {
            switch section.kind {
            case .zero:
                digest.updateContentless(vmm == .gce ? .unmeasured : .zero, gpa: section.gpa, size: section.size)
            case .secrets:
                digest.updateContentless(.secrets, gpa: section.gpa, size: 4096)
            case .cpuid:
                if vmm != .ec2 { digest.updateContentless(.cpuid, gpa: section.gpa, size: 4096) }
            case .svsmCallingArea:
                digest.updateContentless(.zero, gpa: section.gpa, size: section.size)
            case .kernelHashes:
                try measureKernelHashes(section, into: &digest)
            }
        }
        if vmm == .ec2 {   // EC2 adds the CPUID pages after every other section
            for section in sections where section.kind == .cpuid {
                digest.updateContentless(.cpuid, gpa: section.gpa, size: 4096)
            }
        }
        let bsp = SNPVMSA.page(eip: SNPVMSA.bspResetEIP, sevFeatures: guestFeatures, signature: cpuType.signature, vmm: vmm)
        let ap = SNPVMSA.page(eip: apEIP, sevFeatures: guestFeatures, signature: cpuType.signature, vmm: vmm)
        for index in 0..<vcpus { digest.updateVMSA(index == 0 ? bsp : ap) }
        return digest.value
    }

    /// The kernel-hashes section: QEMU's table page, or zero pages without a direct kernel boot.
    private func measureKernelHashes(_ section: SEVMetadataSection, into digest: inout SNPLaunchDigest) throws {
        guard let kernelHashes else {
            digest.updateContentless(.zero, gpa: section.gpa, size: section.size)
            return
        }
        let name = firmware.name
        guard section.size == 4096 else {
            throw MeasurementError(.firmwareInvalid, "\(name): the kernel-hashes section is \(section.size) bytes, not one "
                                   + "4 KiB page; the image is damaged, rebuild it")
        }
        guard let tableGPA = try firmware.sevHashTableGPA() else {
            throw MeasurementError(.firmwareLacksKernelHashes, "\(name) has a kernel-hashes section but no SEV hash table "
                                   + "address in its footer table; use an OVMF built from OvmfPkg/AmdSev/AmdSevX64.dsc")
        }
        let offset = Int(tableGPA & 0xfff)
        guard offset + SEVKernelHashes.paddedTableSize <= 4096 else {
            throw MeasurementError(.firmwareInvalid, "\(name): the SEV hash table at 0x\(String(tableGPA, radix: 16)) "
                                   + "would cross its page; the image is damaged, rebuild it")
        }
        digest.updateNormalPages(gpa: section.gpa, data: kernelHashes.page(tableOffset: offset)[...])
    }
}
