import EnclavaCrypto
import EnclavaMeasure
import EnclavaTesting
import Foundation
import Testing

/// Our SEV-SNP launch digest equals virtee's sev-snp-measure (PyPI, pinned in `make measure-venv`) byte for
/// byte: on Debian's OVMF and on firmware images built here (with and without a kernel-hashes section, kernel
/// hashes given or not), over vCPU counts, vCPU types, VMMs and guest features. Skipped only when PyPI is
/// unreachable, so that the reference cannot be installed.
@Suite(.enabled(if: SevSnpMeasure.shouldRun, "PyPI is unreachable, so sev-snp-measure (the reference) cannot be installed"))
struct SNPAgreementTests {
    /// One configuration: vCPUs, type, VMM, guest features.
    struct Config: CustomTestStringConvertible, Sendable {
        let vcpus: Int, type: String, vmm: SNPVMM, features: UInt64
        var testDescription: String { "\(vcpus)×\(type) \(vmm.rawValue) features 0x\(String(features, radix: 16))" }
        var referenceArguments: [String] {
            ["--vcpus", "\(vcpus)", "--vcpu-type", type, "--vmm-type", vmm == .qemu ? "QEMU" : vmm.rawValue,
             "--guest-features", "0x\(String(features, radix: 16))"]
        }
    }

    static let debianConfigs: [Config] = {
        var list: [Config] = []
        for (vcpus, type) in [(1, "EPYC-v4"), (4, "EPYC-Milan"), (64, "EPYC-Genoa")] {
            for vmm in SNPVMM.allCases { list.append(Config(vcpus: vcpus, type: type, vmm: vmm, features: 0x1)) }
        }
        list.append(Config(vcpus: 2, type: "EPYC-Rome", vmm: .qemu, features: 0x21))
        list.append(Config(vcpus: 8, type: "EPYC-Turin", vmm: .qemu, features: 0x1))
        return list
    }()

    static let debianOVMF = "/usr/share/ovmf/OVMF.fd"

    /// Debian's OVMF.fd (SEV metadata, no kernel-hashes section): boot from disk, no kernel hashes.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: debianOVMF), "needs Debian's ovmf package (make deps installs it)"),
          arguments: debianConfigs)
    func debianOVMFAgrees(_ config: Config) async throws {
        let ours = try Self.measure(firmware: Self.debianOVMF, config, kernel: nil)
        let theirs = try await SevSnpMeasure.digest(["--ovmf", Self.debianOVMF] + config.referenceArguments)
        #expect(ours == theirs, "\(config.testDescription)")
    }

    /// A synthetic image variant and the direct kernel boot given (or not).
    struct SyntheticCase: CustomTestStringConvertible, Sendable {
        let name: String
        let config: Config
        let hashesSection: Bool
        let tableOffset: UInt32
        let kernel: Bool, initrd: Bool, cmdline: String
        var testDescription: String { "\(name): \(config.testDescription)" }
    }

    static let syntheticCases: [SyntheticCase] = {
        let configs = [Config(vcpus: 1, type: "EPYC-v4", vmm: .qemu, features: 0x1),
                       Config(vcpus: 2, type: "EPYC-Milan", vmm: .ec2, features: 0x1),
                       Config(vcpus: 3, type: "EPYC-Genoa", vmm: .gce, features: 0x1),
                       Config(vcpus: 16, type: "EPYC-Rome-v2", vmm: .qemu, features: 0x5)]
        var cases: [SyntheticCase] = []
        for config in configs {
            cases.append(SyntheticCase(name: "kernel, initrd, cmdline", config: config, hashesSection: true, tableOffset: 0,
                                       kernel: true, initrd: true, cmdline: "console=ttyS0 quiet"))
            cases.append(SyntheticCase(name: "no kernel (hashes page zeroed)", config: config, hashesSection: true, tableOffset: 0,
                                       kernel: false, initrd: false, cmdline: ""))
        }
        let qemu = configs[0], ec2 = configs[1]
        cases.append(SyntheticCase(name: "table at 0xc00 in its page", config: qemu, hashesSection: true, tableOffset: 0xc00,
                                   kernel: true, initrd: true, cmdline: "root=/dev/vda"))
        cases.append(SyntheticCase(name: "kernel without initrd or cmdline", config: ec2, hashesSection: true, tableOffset: 0x10,
                                   kernel: true, initrd: false, cmdline: ""))
        cases.append(SyntheticCase(name: "non-ASCII cmdline", config: qemu, hashesSection: true, tableOffset: 0,
                                   kernel: true, initrd: true, cmdline: "enclava.model=résumé"))
        cases.append(SyntheticCase(name: "no hashes section", config: ec2, hashesSection: false, tableOffset: 0,
                                   kernel: false, initrd: false, cmdline: ""))
        return cases
    }()

    @Test(arguments: syntheticCases)
    func syntheticFirmwareAgrees(_ item: SyntheticCase) async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-measure")
        defer { try? FileManager.default.removeItem(at: work) }
        var image = SyntheticOVMF()
        image.sections = SyntheticOVMF.standardSections(kernelHashes: item.hashesSection)
        image.hashTableGPA = 0x80f000 + item.tableOffset
        let firmware = work.appendingPathComponent("OVMF.fd")
        try image.write(to: firmware)
        var kernel: (String, String?, String)?
        var reference = ["--ovmf", firmware.path] + item.config.referenceArguments
        if item.kernel {
            let kernelURL = work.appendingPathComponent("vmlinuz")
            try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: kernelURL)
            reference += ["--kernel", kernelURL.path]
            var initrdPath: String?
            if item.initrd {
                let initrdURL = work.appendingPathComponent("initrd.img")
                try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }).write(to: initrdURL)
                initrdPath = initrdURL.path
                reference += ["--initrd", initrdURL.path]
            }
            if !item.cmdline.isEmpty { reference += ["--append", item.cmdline] }
            kernel = (kernelURL.path, initrdPath, item.cmdline)
        }
        let ours = try Self.measure(firmware: firmware.path, item.config, kernel: kernel)
        let theirs = try await SevSnpMeasure.digest(reference)
        #expect(ours == theirs, "\(item.testDescription)")
    }

    /// Our digest, hex.
    static func measure(firmware: String, _ config: Config, kernel: (String, String?, String)?) throws -> String {
        let hashes = try kernel.map { try SEVKernelHashes(kernelPath: $0.0, initrdPath: $0.1, cmdline: $0.2) }
        let measurement = try SNPLaunchMeasurement(firmware: try OVMFFirmware(path: firmware), vcpus: config.vcpus,
                                                   cpuType: try SNPCPUType(parsing: config.type), vmm: config.vmm,
                                                   guestFeatures: config.features, kernelHashes: hashes)
        return Hex.encode(try measurement.digest())
    }
}

/// A bundle `BootBundle.build` wrote measures, through its bundle.json, as sev-snp-measure measures its files.
@Suite(.enabled(if: SevSnpMeasure.shouldRun, "PyPI is unreachable, so sev-snp-measure (the reference) cannot be installed"))
struct SNPBundleAgreementTests {
    @Test(arguments: [SNPVMM.qemu, .ec2, .gce])
    func aBuiltBundleAgrees(_ vmm: SNPVMM) async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-measure-bundle")
        defer { try? FileManager.default.removeItem(at: work) }
        let bundle = try BootBundle.build(try BootBundleBuildTests.inputs(work), into: work.appendingPathComponent("bundle").path)
        let firmware = work.appendingPathComponent("OVMF.fd")
        try SyntheticOVMF().write(to: firmware)
        let ours = try SNPLaunchMeasurement(firmware: try OVMFFirmware(path: firmware.path), vcpus: 2,
                                            cpuType: try SNPCPUType(parsing: "EPYC-Genoa"), vmm: vmm,
                                            kernelHashes: try BootBundle.load(directory: bundle.directory).kernelHashes).digest()
        let theirs = try await SevSnpMeasure.digest(["--ovmf", firmware.path, "--vcpus", "2", "--vcpu-type", "EPYC-Genoa",
                                               "--vmm-type", vmm == .qemu ? "QEMU" : vmm.rawValue, "--kernel", bundle.kernelPath,
                                               "--initrd", bundle.initrdPath, "--append", bundle.manifest.cmdline])
        #expect(Hex.encode(ours) == theirs)
    }
}
