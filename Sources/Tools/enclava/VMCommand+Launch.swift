import ArgumentParser
import EnclavaMeasure
import Foundation
import HostBridge

/// `enclava vm launch`: starts a confidential VM from a boot bundle with QEMU and serves its enclave through the
/// bridge over vsock, as `enclava serve --enclave vsock:CID:PORT` does; stopping the bridge stops the VM.
struct VMLaunch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Launch a bundle in a confidential VM (QEMU) and serve it through the bridge over vsock.",
        discussion: """
            SEV-SNP: an sev-snp-guest object with kernel-hashes=on (the measurement `enclava measure --snp-launch` \\
            computes for the same --ovmf, --vcpus and --vcpu-type), memfd guest memory. TDX: a tdx-guest object. Both \\
            use vhost-vsock-pci with --cid, and the bridge attaches to the runtime's vsock port from the bundle's \\
            command line. --dry-run prints the QEMU command line and what the bridge would do, and starts nothing. \\
            A host without what the backend needs (/dev/kvm, /dev/sev and kvm_amd sev_snp, kvm_intel tdx, \\
            /dev/vhost-vsock) is refused before QEMU starts, naming what is missing. --backend sim (plain QEMU with \\
            the simulated TEE) is not built yet: a bundle holds a hardware backend, and these machines have no \\
            host-side vsock to reach a guest.
            """
    )

    @Option(help: "sev-snp, tdx or sim.")
    var backend: String

    @Option(help: ArgumentHelp("The boot bundle `enclava vm build` wrote.", valueName: "DIR"))
    var bundle: String

    @Option(help: "Virtual CPUs (1…1024); SEV-SNP's measurement depends on it.")
    var vcpus: Int

    @Option(help: "Guest memory, e.g. 2G or 4096M.")
    var memory: String

    @Option(help: "OVMF (SEV-SNP, an AmdSev build with a kernel-hashes section) or TDVF (TDX).")
    var ovmf: String?

    @Option(help: "The guest's vsock context ID (3…4294967294).")
    var cid: UInt32 = 3

    @Option(name: .customLong("vcpu-type"), help: "The QEMU vCPU model for SEV-SNP (as given to `enclava measure`).")
    var vcpuType: String = "EPYC-v4"

    @Option(help: "Where the bridge listens for clients (HOST:PORT).")
    var listen: String = "127.0.0.1:7000"

    @Option(help: "The QEMU executable.")
    var qemu: String = "qemu-system-x86_64"

    @Flag(name: .customLong("dry-run"), help: "Print the QEMU command line and the bridge's address; start nothing.")
    var dryRun = false

    mutating func run() async throws {
        guard let chosen = VMLaunchPlan.Backend(rawValue: backend) else {
            throw CLIError("--backend \(backend) is not one of sev-snp, tdx, sim")
        }
        guard (1...1024).contains(vcpus) else { throw CLIError("--vcpus must be 1…1024, got \(vcpus)") }
        guard cid >= 3, cid != UInt32.max else {
            throw CLIError("--cid must be 3…4294967294 (0–2 are the hypervisor, loopback and the host), got \(cid)")
        }
        let memoryBytes = try LaunchMeasureOptions.parseMemory(memory)
        let loaded: BootBundle
        do { loaded = try BootBundle.load(directory: bundle) } catch let error as MeasurementError {
            throw CLIError(error.message)
        }
        if chosen != .sim {
            guard let ovmf else {
                throw CLIError("--ovmf is required with --backend \(backend): the \(chosen == .tdx ? "TDVF" : "OVMF (AmdSev build)") the VM boots, the one `enclava measure` was given")
            }
            try CLI.requireReadableFile(ovmf, what: "firmware")
        }
        let port = try Self.vsockPort(cmdline: loaded.manifest.cmdline)
        let run = URL(fileURLWithPath: bundle).standardizedFileURL.path
        let plan = VMLaunchPlan(backend: chosen, kernelPath: loaded.kernelPath, initrdPath: loaded.initrdPath,
                                cmdline: loaded.manifest.cmdline, vcpus: vcpus, memoryMiB: Int(memoryBytes >> 20),
                                firmwarePath: ovmf, cid: cid, vcpuType: vcpuType, consoleLogPath: run + "/console.log",
                                qemu: qemu)
        if dryRun {
            print(plan.shellCommand)
            print("# then: enclava serve --enclave vsock:\(cid):\(port) --listen \(listen) (stopping it stops the VM)")
            return
        }
        guard chosen != .sim else {
            throw CLIError("--backend sim is not built yet: a bundle holds a hardware backend and this machine has no "
                           + "host-side vsock to reach a guest; use --dry-run to see the command line, or `enclava serve` to run the simulator")
        }
        let missing = VMLaunchPlan.missingOnHost(for: chosen)
        guard missing.isEmpty else {
            throw CLIError("cannot launch a \(backend) VM on this host: " + missing.joined(separator: "; "))
        }
        try await Self.launch(plan, attach: "vsock:\(cid):\(port)", listen: listen)
    }

    /// The runtime's vsock port from a bundle's command line (`… -- … --listen vsock:PORT …`).
    static func vsockPort(cmdline: String) throws -> UInt32 {
        let words = cmdline.split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "--listen"), index + 1 < words.count, words[index + 1].hasPrefix("vsock:"),
              let port = UInt32(words[index + 1].dropFirst(6)) else {
            throw CLIError("the bundle's command line has no `--listen vsock:PORT` for the runtime; rebuild it with `enclava vm build`")
        }
        return port
    }

    /// Starts QEMU, serves its enclave until SIGTERM/SIGINT, then stops QEMU. QEMU ending first ends the bridge.
    static func launch(_ plan: VMLaunchPlan, attach: String, listen: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [plan.qemu] + plan.arguments
        do { try process.run() } catch {
            throw CLIError("cannot start \(plan.qemu): \(error); install qemu-system-x86 (QEMU 9.1 or later for SEV-SNP, 10.1 for TDX)")
        }
        CLI.note("enclava vm launch: QEMU started (pid \(process.processIdentifier)); console in \(plan.consoleLogPath)")
        process.terminationHandler = { ended in
            CLI.note("enclava vm launch: QEMU ended (status \(ended.terminationStatus)); see \(plan.consoleLogPath)")
            kill(getpid(), SIGTERM)   // the bridge stops with the VM
        }
        var serve = try ServeCommand.parse(["--enclave", attach, "--listen", listen, "--connect-timeout", "120", "--ready-timeout", "600"])
        do {
            try await serve.run()
        } catch {
            if process.isRunning { process.terminate() }
            throw error
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
