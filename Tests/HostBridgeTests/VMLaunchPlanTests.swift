import EnclavaTesting
import Foundation
import HostBridge
import Testing

/// The QEMU command lines of `enclava vm launch` and the host checks made before QEMU starts.
@Suite struct VMLaunchPlanTests {
    func plan(_ backend: VMLaunchPlan.Backend, accelerator: VMLaunchPlan.Accelerator = .kvm) -> VMLaunchPlan {
        VMLaunchPlan(backend: backend, kernelPath: "/b/vmlinuz", initrdPath: "/b/initrd.cpio.gz",
                     cmdline: "console=ttyS0 -- --backend auto --listen vsock:5000", vcpus: 2, memoryMiB: 1024,
                     firmwarePath: backend == .sim ? nil : "/fw/OVMF.fd", cid: 9, accelerator: accelerator,
                     consoleLogPath: "/b/console.log")
    }

    @Test func eachBackendGetsItsConfidentialGuestObjectAndVsock() {
        let snp = plan(.sevSNP).arguments
        #expect(snp.contains("sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on"))
        #expect(snp.contains("vhost-vsock-pci,guest-cid=9"))
        #expect(snp.contains("memory-backend-memfd,id=ram0,size=1024M,share=true,prealloc=false"))
        let tdx = plan(.tdx).arguments
        #expect(tdx.contains("tdx-guest,id=tdx0") && !tdx.contains { $0.contains("sev") })
        let sim = plan(.sim, accelerator: .tcg).arguments
        #expect(sim.contains("tcg") && !sim.contains { $0.contains("confidential-guest-support") || $0.contains("-bios") })
        // The kernel command line stays one argument.
        #expect(snp[snp.firstIndex(of: "-append")! + 1] == "console=ttyS0 -- --backend auto --listen vsock:5000")
        #expect(plan(.sevSNP).shellCommand.contains("-append 'console=ttyS0 -- --backend auto --listen vsock:5000'"))
    }

    @Test func theHostChecksNameWhatIsMissing() throws {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "enclava-host")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(VMLaunchPlan.missingOnHost(for: .sevSNP, root: root.path).count == 4)
        #expect(VMLaunchPlan.missingOnHost(for: .sim, root: root.path).isEmpty)
        for path in ["dev/kvm", "dev/sev", "dev/vhost-vsock", "sys/module/kvm_amd/parameters/sev_snp", "sys/module/kvm_intel/parameters/tdx"] {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("N\n".utf8).write(to: file)
        }
        #expect(VMLaunchPlan.missingOnHost(for: .sevSNP, root: root.path)
                == ["kvm_amd sev_snp is not enabled (/sys/module/kvm_amd/parameters/sev_snp is not Y): load kvm_amd with sev_snp=1 on an SEV-SNP host"])
        try Data("Y\n".utf8).write(to: root.appendingPathComponent("sys/module/kvm_amd/parameters/sev_snp"))
        #expect(VMLaunchPlan.missingOnHost(for: .sevSNP, root: root.path).isEmpty)
        #expect(VMLaunchPlan.missingOnHost(for: .tdx, root: root.path).first?.contains("kvm_intel tdx is not enabled") == true)
    }
}
