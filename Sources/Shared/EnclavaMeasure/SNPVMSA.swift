/// The virtual machine monitor that launches the guest: each sets a few initial vCPU registers differently.
public enum SNPVMM: String, Sendable, CaseIterable {
    /// QEMU/KVM.
    case qemu
    /// Amazon EC2.
    case ec2
    /// Google Compute Engine.
    case gce

    /// The VMM named `text` (case-insensitive).
    /// - Throws: ``MeasurementError`` `.invalidOption` naming the known VMMs.
    public init(parsing text: String) throws {
        guard let vmm = Self(rawValue: text.lowercased()) else {
            throw MeasurementError(.invalidOption, "--vmm \(text) is not known; use one of "
                                   + Self.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = vmm
    }
}

/// The initial save area (VMSA) of one vCPU as KVM hands it to SNP_LAUNCH_UPDATE: a 4 KiB page laid out as
/// AMD's APM vol. 2 table B-4 (the SEV-ES save area), with the reset state x86 defines and the VMM's quirks.
public enum SNPVMSA {
    /// Where the bootstrap processor starts.
    public static let bspResetEIP: UInt32 = 0xFFFF_FFF0

    // Offsets in the save area (APM vol. 2 table B-4).
    private static let segments: [(offset: Int, selector: UInt16, attributes: UInt16)] = [
        (0x00, 0, 0x93),   // ES
        (0x20, 0, 0x93),   // SS (attributes replaced per VMM)
        (0x30, 0, 0x93),   // DS
        (0x40, 0, 0x93),   // FS
        (0x50, 0, 0x93),   // GS
        (0x60, 0, 0),      // GDTR
        (0x70, 0, 0x82),   // LDTR
        (0x80, 0, 0),      // IDTR
    ]

    /// The VMSA page of a vCPU starting at `eip`.
    /// - Parameters:
    ///   - eip: the reset address (``bspResetEIP`` for the BSP, the firmware's SEV-ES reset block for APs).
    ///   - sevFeatures: the guest features (the VMSA's SEV_FEATURES field).
    ///   - signature: the vCPU's CPUID signature (family, model, stepping), which QEMU puts in RDX.
    ///   - vmm: the VMM whose initial register state to use.
    public static func page(eip: UInt32, sevFeatures: UInt64, signature: UInt32, vmm: SNPVMM) -> [UInt8] {
        var gPAT: UInt64 = 0x0007_0406_0007_0406   // the PAT MSR's reset value (APM vol. 2 §A.3)
        var csAttributes: UInt16 = 0x9b, ssAttributes: UInt16 = 0x93, trAttributes: UInt16 = 0x8b
        var rdx = UInt64(signature), mxcsr: UInt32 = 0x1f80, fcw: UInt16 = 0x37f
        switch vmm {
        case .qemu:
            break
        case .ec2:
            if eip == bspResetEIP { csAttributes = 0x9a }
            ssAttributes = 0x92
            trAttributes = 0x83
            rdx = 0x600
            mxcsr = 0
            fcw = 0
        case .gce:
            gPAT = 0x0007_0106   // GCE's hypervisor replaces the reset PAT
            rdx = 0x600
            mxcsr = 0
            fcw = 0
        }
        var page = [UInt8](repeating: 0, count: 4096)
        func segment(_ offset: Int, selector: UInt16, attributes: UInt16, limit: UInt32 = 0xffff, base: UInt64 = 0) {
            page.setLittleEndian(selector, at: offset)
            page.setLittleEndian(attributes, at: offset + 2)
            page.setLittleEndian(limit, at: offset + 4)
            page.setLittleEndian(base, at: offset + 8)
        }
        for entry in segments {
            segment(entry.offset, selector: entry.selector, attributes: entry.offset == 0x20 ? ssAttributes : entry.attributes)
        }
        segment(0x10, selector: 0xf000, attributes: csAttributes, base: UInt64(eip & 0xffff_0000))   // CS
        segment(0x90, selector: 0, attributes: trAttributes)                                     // TR
        page.setLittleEndian(UInt64(0x1000), at: 0xd0)        // EFER: SVME, as KVM sets it
        page.setLittleEndian(UInt64(0x40), at: 0x148)         // CR4: MCE, as KVM sets it
        page.setLittleEndian(UInt64(0x10), at: 0x158)         // CR0: ET
        page.setLittleEndian(UInt64(0x400), at: 0x160)        // DR7
        page.setLittleEndian(UInt64(0xffff_0ff0), at: 0x168)  // DR6
        page.setLittleEndian(UInt64(0x2), at: 0x170)          // RFLAGS
        page.setLittleEndian(UInt64(eip & 0xffff), at: 0x178) // RIP
        page.setLittleEndian(gPAT, at: 0x268)
        page.setLittleEndian(rdx, at: 0x310)
        page.setLittleEndian(sevFeatures, at: 0x3b0)
        page.setLittleEndian(UInt64(0x1), at: 0x3e8)          // XCR0: x87
        page.setLittleEndian(mxcsr, at: 0x408)
        page.setLittleEndian(fcw, at: 0x410)                  // x87 FCW
        return page
    }
}
