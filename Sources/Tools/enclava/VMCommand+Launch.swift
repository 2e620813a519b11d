import ArgumentParser
import EnclavaMeasure
import Foundation
import EnclavaWire
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

    @Option(help: "With --backend sim: kvm, or tcg (software emulation; the default, since a nested KVM guest may hang).")
    var accel: String?

    @Option(name: .customLong("ready-timeout"), help: "Seconds to wait for the VM's runtime to report ready.")
    var readyTimeout: Int = 300

    @Flag(name: .customLong("dry-run"), help: "Print the QEMU command line and the bridge's address; start nothing.")
    var dryRun = false

    mutating func run() async throws {
        guard let chosen = VMLaunchPlan.Backend(rawValue: backend) else {
            throw CLIError("--backend \(backend) is not one of sev-snp, tdx, sim")
        }
        let accelName = accel ?? (chosen == .sim ? "tcg" : "kvm")
        guard let accelerator = VMLaunchPlan.Accelerator(rawValue: accelName), chosen == .sim || accelerator == .kvm else {
            throw CLIError("--accel \(accelName) is not kvm or tcg (tcg, software emulation, only with --backend sim)")
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
        let (transport, port) = try Self.runtimeListen(cmdline: loaded.manifest.cmdline)
        guard (chosen == .sim) == (transport == "tcp") else {
            throw CLIError(chosen == .sim
                ? "this bundle's runtime listens on vsock: build a sim bundle with `enclava vm build --backend sim --sim-home DIR`"
                : "this is a sim bundle (its runtime listens on TCP for QEMU's user network): build one for \(backend) with `enclava vm build`")
        }
        let run = URL(fileURLWithPath: bundle).standardizedFileURL.path
        var plan = VMLaunchPlan(backend: chosen, kernelPath: loaded.kernelPath, initrdPath: loaded.initrdPath,
                                cmdline: loaded.manifest.cmdline, vcpus: vcpus, memoryMiB: Int(memoryBytes >> 20),
                                firmwarePath: ovmf, cid: cid, vcpuType: vcpuType, accelerator: accelerator,
                                consoleLogPath: run + "/console.log", qemu: qemu)
        if chosen == .sim { plan.userNetForward = (try Self.freeLoopbackPort(), port) }
        let attach = chosen == .sim ? "tcp:127.0.0.1:\(plan.userNetForward!.hostPort)" : "vsock:\(cid):\(port)"
        if dryRun {
            print(plan.shellCommand)
            print("# then: the bridge relays \(listen) to \(attach) (stopping it stops the VM)")
            return
        }
        let missing = VMLaunchPlan.missingOnHost(for: chosen)
        guard missing.isEmpty else {
            throw CLIError("cannot launch a \(backend) VM on this host: " + missing.joined(separator: "; "))
        }
        if chosen == .sim {
            try await Self.launchSim(plan, listen: listen, readyTimeout: readyTimeout)
        } else {
            try await Self.launch(plan, attach: attach, listen: listen)
        }
    }

    /// A loopback TCP port nobody listens on now (for QEMU's forward).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLIError("cannot find a free loopback port for the VM's forward") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// How the bundle's runtime listens, from its command line (`… -- … --listen vsock:PORT` or `tcp:0.0.0.0:PORT`).
    static func runtimeListen(cmdline: String) throws -> (transport: String, port: UInt32) {
        let words = cmdline.split(separator: " ").map(String.init)
        if let index = words.firstIndex(of: "--listen"), index + 1 < words.count {
            let address = words[index + 1]
            if address.hasPrefix("vsock:"), let port = UInt32(address.dropFirst(6)) { return ("vsock", port) }
            if address.hasPrefix("tcp:"), let port = address.split(separator: ":").last.flatMap({ UInt32($0) }) { return ("tcp", port) }
        }
        throw CLIError("the bundle's command line has no `--listen vsock:PORT` (or tcp: for sim) for the runtime; rebuild it with `enclava vm build`")
    }

    /// Starts QEMU with a sim bundle and relays clients to its runtime through QEMU's user-network forward; the VM
    /// stops with the bridge, and the bridge with the VM.
    static func launchSim(_ plan: VMLaunchPlan, listen: String, readyTimeout: Int) async throws {
        let endpoint = try TTRPCEndpoint(parsing: listen)
        guard case .tcp(let host, let port) = endpoint else { throw CLIError("--listen takes HOST:PORT, e.g. 127.0.0.1:7000") }
        let process = try await startQEMU(plan)
        var configuration = HostBridgeConfiguration(
            listenHost: host, listenPort: port,
            enclave: .attach(endpoint: .tcp(host: "127.0.0.1", port: plan.userNetForward!.hostPort)))
        configuration.readyTimeout = .seconds(readyTimeout)
        configuration.connectTimeout = .seconds(10)
        configuration.serveWhileWaitingForKey = true
        let bridge = HostBridgeServer(configuration: configuration)
        let started = ContinuousClock.now
        do {
            try await bridge.start()
        } catch {
            Self.stop(process)
            throw CLIError("the VM's runtime did not become ready: \(error); its console is in \(plan.consoleLogPath)")
        }
        let address = bridge.listeningPort.map { "\(host):\($0)" } ?? listen
        FileHandle.standardOutput.write(Data("enclava vm launch: ready on \(address) — sim VM (QEMU pid \(process.processIdentifier), \(plan.accelerator.rawValue)) ready \(ContinuousClock.now - started) after launch\n".utf8))
        try await bridge.run()
        Self.stop(process)
        CLI.note("enclava vm launch: stopped")
    }

    /// Starts QEMU; when it ends on its own, this process gets SIGTERM (the bridge stops with the VM).
    static func startQEMU(_ plan: VMLaunchPlan) async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [plan.qemu] + plan.arguments
        process.standardInput = FileHandle.nullDevice
        // From a thread with an empty signal mask: QEMU inherits it, and must not ignore the SIGTERM that stops it.
        do { try await EnclaveProcess.withDefaultSignalMask { try process.run() } } catch {
            throw CLIError("cannot start \(plan.qemu): \(error); install qemu-system-x86 (QEMU 9.1 or later for SEV-SNP, 10.1 for TDX)")
        }
        CLI.note("enclava vm launch: QEMU started (pid \(process.processIdentifier)); console in \(plan.consoleLogPath)")
        process.terminationHandler = { ended in
            CLI.note("enclava vm launch: QEMU ended (status \(ended.terminationStatus)); see \(plan.consoleLogPath)")
            kill(getpid(), SIGTERM)
        }
        return process
    }

    /// Starts QEMU, serves its enclave until SIGTERM/SIGINT, then stops QEMU. QEMU ending first ends the bridge.
    static func launch(_ plan: VMLaunchPlan, attach: String, listen: String) async throws {
        let process = try await startQEMU(plan)
        var serve = try ServeCommand.parse(["--enclave", attach, "--listen", listen, "--connect-timeout", "120", "--ready-timeout", "600"])
        do {
            try await serve.run()
        } catch {
            Self.stop(process)
            throw error
        }
        Self.stop(process)
    }

    /// Stops QEMU (SIGTERM) and waits for it; its end no longer signals this process.
    static func stop(_ process: Process) {
        process.terminationHandler = nil
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
