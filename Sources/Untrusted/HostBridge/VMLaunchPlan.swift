import Foundation

/// How `enclava vm launch` starts a confidential VM with QEMU (DESIGN.md §8): the command line for each backend,
/// and what the host must have before QEMU is started at all.
///
/// * SEV-SNP: `confidential-guest-support` naming an `sev-snp-guest` object with `kernel-hashes=on` (the kernel,
///   initrd and command line go into the launch measurement through OVMF's hashes table — what
///   `enclava measure --snp-launch` computes), guest memory from a `memory-backend-memfd`, the given OVMF as BIOS.
/// * TDX: a `tdx-guest` object, `kernel-irqchip=split`, memfd memory, TDVF as BIOS.
/// * Both reach the runtime over `vhost-vsock-pci,guest-cid=CID`, exactly as `enclava serve --enclave
///   vsock:CID:PORT` does.
/// * `sim`: plain QEMU (KVM, or software emulation with `accel = .tcg`) with the simulated backend inside.
public struct VMLaunchPlan: Sendable, Equatable {
    /// The TEE the VM runs under.
    public enum Backend: String, Sendable, CaseIterable {
        case sevSNP = "sev-snp"
        case tdx
        case sim
    }

    /// QEMU's accelerator for a `sim` VM (the TEE backends always need KVM).
    public enum Accelerator: String, Sendable {
        case kvm
        case tcg
    }

    public var backend: Backend
    public var kernelPath: String
    public var initrdPath: String
    public var cmdline: String
    public var vcpus: Int
    /// Guest memory in MiB.
    public var memoryMiB: Int
    /// OVMF (SEV-SNP) or TDVF (TDX); optional for `sim`.
    public var firmwarePath: String?
    /// The guest's vsock context ID (3 or more).
    public var cid: UInt32
    /// The QEMU vCPU model for SEV-SNP (it must be the one `enclava measure --vcpu-type` was given).
    public var vcpuType: String
    /// For `sim` only.
    public var accelerator: Accelerator
    /// Where the guest's serial console goes.
    public var consoleLogPath: String
    public var qemu: String
    /// For `sim`: the loopback port QEMU's user network forwards to the guest's `guestPort` (10.0.2.15), the
    /// channel a host without vsock reaches the runtime on.
    public var userNetForward: (hostPort: Int, guestPort: UInt32)?

    public static func == (a: VMLaunchPlan, b: VMLaunchPlan) -> Bool { a.arguments == b.arguments && a.qemu == b.qemu }

    public init(backend: Backend, kernelPath: String, initrdPath: String, cmdline: String, vcpus: Int, memoryMiB: Int,
                firmwarePath: String?, cid: UInt32, vcpuType: String = "EPYC-v4", accelerator: Accelerator = .kvm,
                consoleLogPath: String, qemu: String = "qemu-system-x86_64") {
        self.backend = backend
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.cmdline = cmdline
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.firmwarePath = firmwarePath
        self.cid = cid
        self.vcpuType = vcpuType
        self.accelerator = accelerator
        self.consoleLogPath = consoleLogPath
        self.qemu = qemu
    }

    /// QEMU's arguments (without the executable).
    public var arguments: [String] {
        var arguments = ["-nodefaults", "-nographic", "-no-reboot", "-smp", "\(vcpus)", "-m", "\(memoryMiB)M",
                         "-serial", "file:\(consoleLogPath)"]
        let memory = "memory-backend-memfd,id=ram0,size=\(memoryMiB)M,share=true,prealloc=false"
        switch backend {
        case .sevSNP:
            arguments += ["-accel", "kvm", "-cpu", vcpuType,
                          "-machine", "q35,confidential-guest-support=sev0,memory-backend=ram0,vmport=off",
                          "-object", memory,
                          "-object", "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on"]
        case .tdx:
            arguments += ["-accel", "kvm", "-cpu", "host",
                          "-machine", "q35,kernel-irqchip=split,confidential-guest-support=tdx0,memory-backend=ram0",
                          "-object", memory, "-object", "tdx-guest,id=tdx0"]
        case .sim:
            arguments += ["-accel", accelerator.rawValue, "-cpu", accelerator == .kvm ? "host" : "max", "-machine", "q35"]
        }
        if let firmwarePath { arguments += ["-bios", firmwarePath] }
        arguments += ["-kernel", kernelPath, "-initrd", initrdPath, "-append", cmdline]
        if backend != .sim { arguments += ["-device", "vhost-vsock-pci,guest-cid=\(cid)"] }
        if let forward = userNetForward {
            arguments += ["-netdev", "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:\(forward.hostPort)-10.0.2.15:\(forward.guestPort)",
                          "-device", "virtio-net-pci,netdev=net0"]
        }
        return arguments
    }

    /// The command line as a shell would take it (for `--dry-run`).
    public var shellCommand: String {
        ([qemu] + arguments).map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension VMLaunchPlan {
    /// What a host needs for `backend`, each with the sentence that names it when it is missing.
    public struct Requirement: Sendable, Equatable {
        /// A path that must exist, or a parameter file whose content must start with `Y`/`1`.
        public let path: String
        public let mustBeEnabled: Bool
        public let missing: String
    }

    /// The host requirements of `backend`, in the order they are checked.
    public static func requirements(for backend: Backend) -> [Requirement] {
        let kvm = Requirement(path: "/dev/kvm", mustBeEnabled: false,
                              missing: "/dev/kvm is missing: this host has no KVM (load kvm_amd or kvm_intel, or run on a host with virtualization)")
        let vsock = Requirement(path: "/dev/vhost-vsock", mustBeEnabled: false,
                                missing: "/dev/vhost-vsock is missing: load the vhost_vsock module (`modprobe vhost_vsock`); the bridge reaches the VM over vsock")
        switch backend {
        case .sevSNP:
            return [kvm,
                    Requirement(path: "/dev/sev", mustBeEnabled: false,
                                missing: "/dev/sev is missing: this host's AMD secure processor is not available (an AMD EPYC with SEV-SNP enabled in the BIOS, and the ccp driver)"),
                    Requirement(path: "/sys/module/kvm_amd/parameters/sev_snp", mustBeEnabled: true,
                                missing: "kvm_amd sev_snp is not enabled (/sys/module/kvm_amd/parameters/sev_snp is not Y): load kvm_amd with sev_snp=1 on an SEV-SNP host"),
                    vsock]
        case .tdx:
            return [kvm,
                    Requirement(path: "/sys/module/kvm_intel/parameters/tdx", mustBeEnabled: true,
                                missing: "kvm_intel tdx is not enabled (/sys/module/kvm_intel/parameters/tdx is not Y): load kvm_intel with tdx=1 on a TDX host"),
                    vsock]
        case .sim:
            return []
        }
    }

    /// The sentences naming what this host lacks for `backend` (empty: nothing), checked under `root` (tests give a
    /// fake tree; the default is the real one).
    public static func missingOnHost(for backend: Backend, root: String = "") -> [String] {
        requirements(for: backend).compactMap { requirement in
            let path = root + requirement.path
            guard FileManager.default.fileExists(atPath: path) else { return requirement.missing }
            guard requirement.mustBeEnabled else { return nil }
            let value = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return value == "Y" || value == "1" ? nil : requirement.missing
        }
    }
}
