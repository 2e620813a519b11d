import ArgumentParser
import EnclavaCrypto
import EnclavaImage
import EnclavaMeasure
import Foundation

/// `enclava vm …`: confidential VMs holding the runtime and an image.
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Build boot bundles for confidential VMs (SEV-SNP, TDX) and launch them.",
        subcommands: [VMBuild.self, VMLaunch.self]
    )
}

/// `enclava vm build`: a reproducible boot bundle (kernel, initramfs, bundle.json) for a direct kernel boot.
struct VMBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a reproducible boot bundle: the kernel, an initramfs holding the runtime and the image, and bundle.json.",
        discussion: """
            The initramfs is a newc cpio (members sorted, mtime 0, owner 0) in a gzip member with a fixed header \\
            and stored blocks, so two builds of the same inputs are byte-identical. It holds /bin/enclava-runtime \\
            (/init links to it), the shared objects `ldd` lists for it (none for a static build), the image at \\
            /enclava/image.eimg and empty /dev, /proc, /sys, /tmp, /run. The command line passes the runtime its \\
            arguments after `--`. `enclava measure --snp-launch --bundle DIR` measures the result.
            """
    )

    @Option(help: "The signed enclave image (.eimg).")
    var image: String

    @Option(help: ArgumentHelp("The Linux kernel (bzImage) the VM boots.", valueName: "VMLINUZ"))
    var kernel: String

    @Option(help: ArgumentHelp("The bundle folder to write (vmlinuz, initrd.cpio.gz, bundle.json).", valueName: "DIR"))
    var out: String

    @Option(help: "The enclava-runtime executable to put in the initramfs (default: the one beside enclava).")
    var runtime: String?

    @Option(help: "TEE backend the runtime uses inside the VM: auto, sev-snp or tdx.")
    var backend: String = "auto"

    @Option(name: .customLong("vsock-port"), help: "The vsock port the runtime listens on inside the VM.")
    var vsockPort: Int = 5000

    @Option(help: "Guest memory (QEMU -m), e.g. 2G: a bundle that would not fit is refused.")
    var memory: String?

    @Option(name: .customLong("kernel-modules"), help: ArgumentHelp("The kernel's module tree (/lib/modules/VERSION from its linux-image package): the vsock, virtio-pci, configfs and TEE guest modules it builds as modules go into the bundle with their dependencies, and the runtime loads them first.", valueName: "DIR"))
    var kernelModules: String?

    @Option(name: .customLong("sim-home"), help: ArgumentHelp("With --backend sim: the simulated platform (`enclava sim init`) the VM's runtime runs as; it goes into the bundle.", valueName: "DIR"))
    var simHome: String?

    @Flag(help: "Replace a bundle already in --out.")
    var force = false

    mutating func run() async throws {
        try CLI.requireReadableFile(kernel, what: "kernel")
        try CLI.requireReadableFile(image, what: "image")
        guard ["auto", "sev-snp", "tdx", "sim"].contains(backend) else {
            throw CLIError("--backend \(backend) is not one of auto, sev-snp, tdx, sim")
        }
        if backend == "sim", simHome == nil {
            throw CLIError("--backend sim needs --sim-home DIR: the simulated platform the VM's runtime runs as (`enclava sim init`); "
                           + "its secret goes into the bundle, so a sim bundle is for tests and demos only")
        }
        if backend != "sim", simHome != nil { throw CLIError("--sim-home applies only with --backend sim") }
        guard (1...0xFFFF_FFFE).contains(vsockPort) else { throw CLIError("--vsock-port must be 1…4294967294, got \(vsockPort)") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isFolder), !isFolder.boolValue {
            throw CLIError("--out \(out) is a file; give a folder for the bundle")
        }
        if !force, FileManager.default.fileExists(atPath: out + "/bundle.json") {
            throw CLIError("\(out) already holds a bundle; choose another --out or pass --force to replace it")
        }
        do { _ = try EnclaveImage.open(path: image) } catch {
            throw CLIError("\(image) is not an image this runtime can run: \(error); package it with this enclava")
        }
        let runtimePath = try CLI.runtimePath(runtime)
        var inputs = BootBundleInputs(
            kernelPath: kernel, runtimePath: runtimePath, libraries: try Self.libraries(of: runtimePath), imagePath: image,
            runtimeArguments: ["--backend", backend, "--listen", "vsock:\(vsockPort)", "--image", BootBundle.imageTarget],
            memory: try memory.map(LaunchMeasureOptions.parseMemory))
        var wantedModules = KernelModules.wanted
        var requiredModules = KernelModules.required
        if let simHome {
            // A simulated TEE in plain QEMU, reached through user networking (no host-side vsock needed).
            inputs.runtimeArguments = ["--backend", "sim", "--listen", "tcp:0.0.0.0:\(vsockPort)", "--image", BootBundle.imageTarget,
                                       "--sim-home", Self.simHomeTarget]
            inputs.kernelParameters += ["ENCLAVA_NET=\(Self.simGuestAddress)/24"]
            inputs.extraFiles = try Self.files(under: simHome, into: Self.simHomeTarget)
            wantedModules += ["virtio_net"]
            requiredModules = ["virtio_pci", "virtio_net"]
        }
        if let kernelModules {
            do {
                inputs.modules = try KernelModules.resolve(in: kernelModules, wanted: wantedModules, required: requiredModules).loadOrder
            } catch let error as MeasurementError {
                throw CLIError(error.message)
            }
        }
        let bundle: BootBundle
        do { bundle = try BootBundle.build(inputs, into: out) } catch let error as MeasurementError {
            throw CLIError(error.message)
        }
        print("wrote \(out)")
        print("  kernel           \(bundle.manifest.kernel.path) sha256:\(bundle.manifest.kernel.sha256)")
        print("  initrd           \(bundle.manifest.initrd.path) sha256:\(bundle.manifest.initrd.sha256)")
        print("  cmdline          \(bundle.manifest.cmdline)")
    }

    /// Where a sim bundle's simulated platform is in the VM.
    static let simHomeTarget = "/enclava/sim-home"
    /// A sim VM's address on QEMU's user network (its default guest address).
    static let simGuestAddress = "10.0.2.15"

    /// Every regular file under `folder`, as (its path, the same relative path under `target`).
    static func files(under folder: String, into target: String) throws -> [(source: String, target: String)] {
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root), FileManager.default.fileExists(atPath: root + "/sim") else {
            throw CLIError("--sim-home \(folder) holds no simulated platform; run `ENCLAVA_HOME=\(folder) enclava sim init` first")
        }
        var files: [(source: String, target: String)] = []
        for case let relative as String in walker {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isFolder), !isFolder.boolValue {
                files.append((root + "/" + relative, target + "/" + relative))
            }
        }
        return files
    }

    /// The dynamic loader and libraries `ldd` lists for `executable` (none when it is static), each kept at
    /// its path; a library `ldd` cannot find is an error.
    static func libraries(of executable: String) throws -> [(source: String, target: String)] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [executable]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        do { try process.run() } catch { throw CLIError("cannot run /usr/bin/ldd to list the runtime's libraries; install libc-bin") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var libraries: [(source: String, target: String)] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.contains("=> not found") {
                throw CLIError("the runtime needs \(text.split(separator: " ")[0]), which this machine lacks; install it or build the runtime statically")
            }
            let path = text.contains("=>") ? text.components(separatedBy: "=> ")[1] : text
            guard let file = path.split(separator: " ").first, file.hasPrefix("/") else { continue }   // linux-vdso, "statically linked"
            libraries.append((String(file), String(file)))
        }
        return libraries.sorted { $0.target < $1.target }
    }
}
