import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import EnclavaMeasure
import Foundation

/// The options of a confidential VM's launch measurement, shared by `enclava measure` and `enclava policy create`:
/// `--snp-launch` (the SEV-SNP launch digest) or `--tdx` (MRTD), the firmware, vCPUs, and the direct kernel boot.
struct LaunchMeasureOptions: ParsableArguments {
    @Flag(name: .customLong("snp-launch"), help: "Compute the SEV-SNP launch MEASUREMENT (needs --ovmf, --vcpus, --vcpu-type).")
    var snpLaunch = false

    @Flag(help: "Compute the TDX MRTD (needs --ovmf, a TDVF, and --vcpus, --memory).")
    var tdx = false

    @Option(help: ArgumentHelp("The firmware QEMU is given (-bios): OVMF for SEV-SNP, a TDVF for TDX.", valueName: "OVMF.fd"))
    var ovmf: String?

    @Option(help: "vCPUs (QEMU -smp), 1…1024: SEV-SNP measures one VMSA per vCPU.")
    var vcpus: Int?

    @Option(name: .customLong("vcpu-type"), help: "QEMU vCPU model for SEV-SNP, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa.")
    var vcpuType: String?

    @Option(help: "The VMM launching the SEV-SNP guest: qemu, ec2 or gce (their initial vCPU state differs).")
    var vmm: String = "qemu"

    @Option(name: .customLong("guest-features"), help: ArgumentHelp("SEV-SNP guest features (VMSA SEV_FEATURES), hex; default 0x1.", valueName: "HEX"))
    var guestFeatures: String?

    @Option(help: ArgumentHelp("A boot bundle from `enclava vm build` (its bundle.json names the kernel, initrd and command line).", valueName: "DIR"))
    var bundle: String?

    @Option(help: "The kernel of a direct kernel boot (QEMU -kernel), instead of --bundle.")
    var kernel: String?

    @Option(help: "The initrd (QEMU -initrd), with --kernel.")
    var initrd: String?

    @Option(help: ArgumentHelp("The kernel command line (QEMU -append), with --kernel.", valueName: "CMDLINE"))
    var append: String?

    @Option(help: "Guest memory for TDX (QEMU -m), e.g. 2G or 4096M.")
    var memory: String?

    @Option(name: .customLong("page-add-order"), help: "TDX: how the VMM adds firmware pages: per-page (KVM ≥ 6.16, QEMU ≥ 10.1) or two-pass (earlier TDX trees).")
    var pageAddOrder: String = "per-page"

    /// Whether a launch measurement was asked for.
    var requested: Bool { snpLaunch || tdx }

    /// What was computed, with every input it depends on (printed by `--json`, so that a digest is never
    /// separated from the VMM, vCPU type or firmware that produced it).
    enum Result {
        case snp(measurement: [UInt8], inputs: [String: String])
        case tdx(mrtd: [UInt8], inputs: [String: String])
    }

    /// Computes the measurement asked for; every failure is one line naming the option to change.
    func compute() throws -> Result {
        do {
            return try computeChecked()
        } catch let error as MeasurementError {
            throw CLIError(error.message)
        }
    }

    private func computeChecked() throws -> Result {
        guard snpLaunch != tdx else { throw CLIError("give exactly one of --snp-launch and --tdx") }
        guard let ovmf else { throw CLIError("--ovmf is required: the firmware image QEMU is given (-bios)") }
        guard let vcpus else { throw CLIError("--vcpus is required: the vCPU count QEMU is given (-smp)") }
        if bundle != nil, kernel != nil || initrd != nil || append != nil {
            throw CLIError("give either --bundle or --kernel/--initrd/--append, not both")
        }
        if kernel == nil, initrd != nil || append != nil { throw CLIError("--initrd and --append need --kernel") }
        let firmware = try OVMFFirmware(path: ovmf)
        var inputs = ["ovmf": ovmf, "ovmf_sha256": Hex.encode(SHA2.sha256(firmware.bytes)), "vcpus": String(vcpus)]
        if tdx {
            inputs["page_add_order"] = pageAddOrder
            return .tdx(mrtd: try tdxMRTD(firmware, vcpus: vcpus), inputs: inputs)
        }
        guard let vcpuType else { throw CLIError("--vcpu-type is required with --snp-launch, e.g. --vcpu-type EPYC-v4") }
        let features = try guestFeatures.map(Self.parseHex) ?? SNPLaunchMeasurement.defaultGuestFeatures
        let hashes = try kernelHashes()
        let measurement = try SNPLaunchMeasurement(firmware: firmware, vcpus: vcpus, cpuType: try SNPCPUType(parsing: vcpuType),
                                                   vmm: try SNPVMM(parsing: vmm), guestFeatures: features, kernelHashes: hashes)
        inputs["vcpu_type"] = measurement.cpuType.name
        inputs["vmm"] = measurement.vmm.rawValue
        inputs["guest_features"] = "0x" + String(features, radix: 16)
        if let hashes {
            inputs["kernel_sha256"] = Hex.encode(hashes.kernel)
            inputs["initrd_sha256"] = Hex.encode(hashes.initrd)
            inputs["cmdline_sha256"] = Hex.encode(hashes.cmdline)
        }
        return .snp(measurement: try measurement.digest(), inputs: inputs)
    }

    /// The direct kernel boot's hashes: from the bundle (digests verified) or the files given.
    private func kernelHashes() throws -> SEVKernelHashes? {
        if let bundle { return try BootBundle.load(directory: bundle).kernelHashes }
        guard let kernel else { return nil }
        return try SEVKernelHashes(kernelPath: kernel, initrdPath: initrd, cmdline: append ?? "")
    }

    private func tdxMRTD(_ firmware: OVMFFirmware, vcpus: Int) throws -> [UInt8] {
        guard (1...SNPLaunchMeasurement.maximumVCPUs).contains(vcpus) else {
            throw CLIError("--vcpus must be 1…\(SNPLaunchMeasurement.maximumVCPUs) (the -smp count QEMU is given), got \(vcpus)")
        }
        guard let memory else { throw CLIError("--memory is required with --tdx: the guest memory QEMU is given (-m), e.g. 2G") }
        _ = try Self.parseMemory(memory)
        if let bundle { _ = try BootBundle.load(directory: bundle) }   // verified, though MRTD measures only the firmware
        guard let order = TDXMeasurement.PageAddOrder(rawValue: pageAddOrder) else {
            throw CLIError("--page-add-order \(pageAddOrder) is not one of per-page, two-pass")
        }
        return try TDXMeasurement(firmware: firmware, order: order).mrtd()
    }

    /// `0x21` or `21`, hex.
    static func parseHex(_ text: String) throws -> UInt64 {
        let digits = text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard !digits.isEmpty, let value = UInt64(digits, radix: 16) else {
            throw CLIError("--guest-features \(text) is not a hex number; give e.g. 0x1")
        }
        return value
    }

    /// Bytes of `2G`, `4096M`, `1048576K` or a plain number of MiB (QEMU's -m), 256 MiB … 16 TiB.
    static func parseMemory(_ text: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        var unit: UInt64 = 1 << 20
        if let last = digits.last, let scale = units[last] { unit = scale; digits.removeLast() }
        guard let count = UInt64(digits), count > 0, count <= (16 << 40) / unit, count * unit >= 256 << 20 else {
            throw CLIError("--memory \(text) is not a guest memory size of 256M…16T; give e.g. 2G or 4096M")
        }
        return count * unit
    }
}

extension LaunchMeasureOptions {
    /// Pins the computed value in `policy` (SEV-SNP: MEASUREMENT; TDX: MRTD, as both the measurement and
    /// `expected_mrtd`) and returns the lines to print.
    func pin(into policy: inout AttestationPolicy) throws -> [String] {
        switch try compute() {
        case .snp(let measurement, _):
            policy.expectedMeasurements.append(Hex.encode(measurement))
            return ["  launch           SEV-SNP, computed from \(ovmf ?? "") and \(vcpus ?? 0) × \(vcpuType ?? "")"]
        case .tdx(let mrtd, _):
            policy.expectedMRTD.append(Hex.encode(mrtd))
            policy.expectedMeasurements.append(Hex.encode(mrtd))   // TDX's measurement is MRTD, as --from-evidence pins it
            return ["  MRTD             \(Hex.encode(mrtd)) (computed from \(ovmf ?? ""); pin RTMR0-2 with --rtmr or --from-evidence)"]
        }
    }
}
