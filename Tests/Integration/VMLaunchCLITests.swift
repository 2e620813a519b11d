import EnclavaTesting
import Foundation
import Testing

/// Issue 13: `enclava vm launch` through the real CLI. These machines have no SEV-SNP, TDX or host-side vsock, so
/// what runs here is the QEMU command line (`--dry-run`), the refusal of a host that lacks what the backend needs
/// (before QEMU starts), and bad flags.
@Suite(.serialized) struct VMLaunchCLITests {
    let fixture = CLIFixture.shared

    func bundle(in work: URL) throws -> String {
        let out = work.appendingPathComponent("bundle").path
        try fixture.expectSuccess(["vm", "build", "--image", fixture.image.path, "--kernel", try VMBuildCLITests.kernel(in: work),
                                   "--runtime", "/bin/true", "--out", out, "--vsock-port", "5005"])
        return out
    }

    @Test func dryRunPrintsTheQEMUCommandLineForEachBackend() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-launch")
        defer { try? FileManager.default.removeItem(at: work) }
        let bundle = try bundle(in: work)
        let firmware = work.appendingPathComponent("OVMF.fd")
        try Data(count: 4096).write(to: firmware)
        let snp = try fixture.run(["vm", "launch", "--backend", "sev-snp", "--bundle", bundle, "--vcpus", "4", "--memory", "2G",
                                   "--ovmf", firmware.path, "--cid", "17", "--vcpu-type", "EPYC-Genoa", "--dry-run"])
        #expect(snp.status == 0, "\(snp.stderr)")
        for part in ["qemu-system-x86_64", "-accel kvm", "-cpu EPYC-Genoa", "-smp 4", "-m 2048M",
                     "confidential-guest-support=sev0,memory-backend=ram0",
                     "memory-backend-memfd,id=ram0,size=2048M,share=true,prealloc=false",
                     "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on",
                     "-bios \(firmware.path)", "-kernel \(bundle)/vmlinuz", "-initrd \(bundle)/initrd.cpio.gz",
                     "vhost-vsock-pci,guest-cid=17",
                     "# then: the bridge relays 127.0.0.1:7000 to vsock:17:5005"] {
            #expect(snp.stdout.contains(part), "missing `\(part)` in \(snp.stdout)")
        }
        // The command line is one quoted word: the runtime's arguments after `--` reach it as they are.
        #expect(snp.stdout.contains("-append '"), "\(snp.stdout)")
        let tdx = try fixture.run(["vm", "launch", "--backend", "tdx", "--bundle", bundle, "--vcpus", "2", "--memory", "1G",
                                   "--ovmf", firmware.path, "--dry-run"])
        #expect(tdx.status == 0 && tdx.stdout.contains("tdx-guest,id=tdx0") && tdx.stdout.contains("kernel-irqchip=split")
                && tdx.stdout.contains("vhost-vsock-pci,guest-cid=3"), "\(tdx.stdout) \(tdx.stderr)")
    }

    @Test func aHostWithoutTheTEEIsRefusedBeforeQEMUStarts() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-launch")
        defer { try? FileManager.default.removeItem(at: work) }
        let bundle = try bundle(in: work)
        let firmware = work.appendingPathComponent("OVMF.fd")
        try Data(count: 4096).write(to: firmware)
        let hasKVM = FileManager.default.fileExists(atPath: "/dev/kvm")
        let hasSEV = FileManager.default.fileExists(atPath: "/dev/sev")
        try #require(!hasSEV, "this host has /dev/sev: the refusal cannot be shown here")
        // A QEMU that would leave a mark if it were started.
        let marker = work.appendingPathComponent("qemu-ran")
        let fakeQEMU = work.appendingPathComponent("qemu")
        try "#!/bin/sh\ntouch \(marker.path)\n".write(to: fakeQEMU, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fakeQEMU.path)
        let result = try fixture.run(["vm", "launch", "--backend", "sev-snp", "--bundle", bundle, "--vcpus", "1", "--memory", "1G",
                                      "--ovmf", firmware.path, "--qemu", fakeQEMU.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot launch a sev-snp VM on this host: "), "\(result.stderr)")
        #expect(result.stderr.contains(hasKVM ? "/dev/sev is missing" : "/dev/kvm is missing"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "QEMU was started")
    }

    @Test(arguments: [
        (["--backend", "sev-snp", "--vcpus", "0", "--memory", "1G"], "--vcpus must be 1…1024, got 0"),
        (["--backend", "sev-snp", "--vcpus", "1", "--memory", "1G", "--cid", "2"], "--cid must be 3…4294967294"),
        (["--backend", "sev-snp", "--vcpus", "1", "--memory", "1G"], "--ovmf is required with --backend sev-snp"),
        (["--backend", "sgx", "--vcpus", "1", "--memory", "1G"], "--backend sgx is not one of sev-snp, tdx, sim"),
        (["--backend", "sim", "--vcpus", "1", "--memory", "1G"], "this bundle's runtime listens on vsock: build a sim bundle with `enclava vm build --backend sim --sim-home DIR`"),
        (["--backend", "sev-snp", "--vcpus", "1", "--memory", "1G", "--accel", "tcg"], "--accel tcg is not kvm or tcg (tcg, software emulation, only with --backend sim)"),
        (["--backend", "tdx", "--vcpus", "1", "--memory", "12"], "--memory 12 is not a guest memory size"),
    ])
    func badFlagsAreNamed(flags: [String], message: String) throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-launch")
        defer { try? FileManager.default.removeItem(at: work) }
        let result = try fixture.run(["vm", "launch", "--bundle", try bundle(in: work)] + flags)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
