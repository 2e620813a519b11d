import EnclavaTesting
import Foundation
import Testing

/// Issue 13: a boot bundle really boots. `enclava vm build --backend sim` packs the real runtime, the fixture's image,
/// the simulated platform and the kernel's modules (Debian's cloud kernel, which `make vm-kernel` fetches); `enclava
/// vm launch --backend sim` boots it in QEMU (software emulation: a nested KVM guest hangs on these machines) and
/// serves it through the bridge over QEMU's user network; a client attests and gets an encrypted inference; SIGTERM
/// stops the bridge and the VM.
@Suite(.serialized) struct VMSimBootTests {
    let fixture = CLIFixture.shared

    /// The kernel `make vm-kernel` extracts (vmlinuz and its module tree), if it is there.
    static let kernel: (vmlinuz: String, modules: String)? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/vm-kernel").path
        guard let boot = try? FileManager.default.contentsOfDirectory(atPath: root + "/boot"),
              let vmlinuz = boot.first(where: { $0.hasPrefix("vmlinuz-") }),
              let version = Optional(String(vmlinuz.dropFirst("vmlinuz-".count))),
              FileManager.default.fileExists(atPath: root + "/lib/modules/" + version) else { return nil }
        return (root + "/boot/" + vmlinuz, root + "/lib/modules/" + version)
    }()

    static var qemuInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }

    /// The runtime a bundle holds (`make vm-runtime`: release, Swift runtime linked in statically, stripped), if built.
    static let vmRuntime: URL? = {
        let url = TestPaths.packageRoot().appendingPathComponent(".build-static/enclava-runtime-vm")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }()

    @Test(.enabled(if: kernel != nil && qemuInstalled, "no QEMU or guest kernel here: `make vm-kernel` installs both (make test runs it)"))
    func aSimBundleBootsAttestsServesAndStopsWithTheBridge() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-boot")
        defer { try? FileManager.default.removeItem(at: work) }
        let kernel = try #require(Self.kernel)
        let bundle = work.appendingPathComponent("bundle").path
        // The static runtime `make vm-runtime` builds (make test does); without it, the debug one and its libraries.
        let runtime = Self.vmRuntime ?? fixture.runtime
        let image = work.appendingPathComponent("fraud-vm.eimg").path
        let policy = work.appendingPathComponent("policy-vm.json").path
        try fixture.expectSuccess(["package", "--manifest", fixture.demoDir.appendingPathComponent("manifest.toml").path,
                                   "--signer", fixture.signer.path, "--out", image, "--seal-for", "sim", "--runtime", runtime.path])
        try fixture.expectSuccess(["policy", "create", "--image", image, "--allow-simulation", "--runtime", runtime.path,
                                   "--out", policy])
        try fixture.expectSuccess(["vm", "build", "--backend", "sim", "--sim-home", fixture.home.path, "--image", image,
                                   "--kernel", kernel.vmlinuz, "--kernel-modules", kernel.modules, "--runtime", runtime.path,
                                   "--out", bundle])
        if Self.vmRuntime != nil {
            // Statically linked Swift: only the C libraries (glibc, OpenSSL, protobuf-c, libstdc++) come from ldd.
            let manifest = try String(contentsOfFile: bundle + "/bundle.json", encoding: .utf8)
            #expect(!manifest.contains("libswiftCore") && !manifest.contains("libFoundation"), "\(manifest.prefix(2000))")
        }
        let port = TestProcess.freeTCPPort()
        let launch = TestProcess(fixture.enclava, ["vm", "launch", "--backend", "sim", "--bundle", bundle, "--vcpus", "1",
                                                   "--memory", "1G", "--listen", "127.0.0.1:\(port)"],
                                 environment: fixture.environment)
        try launch.start()
        defer { if launch.process.isRunning { launch.signal(SIGKILL); _ = launch.wait(timeout: 30) } }
        let deadline = Date().addingTimeInterval(300)
        while !launch.stdoutSoFar.contains("ready on 127.0.0.1:\(port)") && Date() < deadline {
            try #require(launch.process.isRunning, "vm launch exited: \(launch.stderrSoFar)\nconsole: \(Self.console(bundle))")
            usleep(200_000)
        }
        #expect(launch.stdoutSoFar.contains("sim VM"), "\(launch.stdoutSoFar) \(Self.console(bundle))")
        let console = Self.console(bundle)
        #expect(console.contains("enclava-runtime: first process: mounted /proc, /sys, /dev"), "\(console)")
        #expect(console.contains("eth0 is 10.0.2.15/24"), "\(console)")

        let golden = try Golden.load(fixture.root)
        let inferred = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy,
                                        "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(inferred.status == 0 && inferred.stdout.contains("\"probabilities\""), "\(inferred.stderr)")

        launch.signal(SIGTERM)
        let ended = launch.wait(timeout: 60)
        #expect(ended.status == 0, "\(ended.stderr)")
        #expect(ended.stderr.contains("QEMU ended") || ended.stderr.contains("enclava vm launch: stopped"), "\(ended.stderr)")
        #expect(!Self.qemuRunning(bundle: bundle), "QEMU still runs after the bridge stopped")
    }

    static func console(_ bundle: String) -> String {
        ((try? String(contentsOfFile: bundle + "/console.log", encoding: .utf8)) ?? "").suffix(3000).description
    }

    /// Whether a QEMU booting `bundle` still runs.
    static func qemuRunning(bundle: String) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.contains { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let line = String(decoding: data, as: UTF8.self)
            return line.hasPrefix("qemu-system") && line.contains(bundle)
        }
    }
}
