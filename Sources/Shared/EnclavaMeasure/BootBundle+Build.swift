import EnclavaCrypto
import Foundation

/// What goes into a boot bundle: the kernel, the runtime (first process) and the C libraries it loads, the
/// image, and the kernel command line.
public struct BootBundleInputs: Sendable {
    /// The Linux kernel (bzImage).
    public var kernelPath: String
    /// The `enclava-runtime` executable; the initramfs's `/init` links to it.
    public var runtimePath: String
    /// The shared objects the runtime loads, as (path on this machine, absolute path in the VM): the dynamic
    /// loader and every `DT_NEEDED` library (empty for a fully static runtime).
    public var libraries: [(source: String, target: String)]
    /// The signed enclave image.
    public var imagePath: String
    /// The runtime's arguments (the kernel passes what follows `--` on its command line to `/init`).
    public var runtimeArguments: [String]
    /// Kernel parameters before `--`.
    public var kernelParameters: [String]
    /// Guest memory in bytes, to refuse a bundle that would not fit; nil skips the check.
    public var memory: UInt64?
    /// Kernel modules the runtime loads first, in order (``KernelModules``); empty for a kernel with everything built in.
    public var modules: [KernelModules.Module] = []
    /// Further files, as (path on this machine, absolute path in the VM), mode 0600 (a simulated platform's home).
    public var extraFiles: [(source: String, target: String)] = []

    /// The inputs.
    public init(kernelPath: String, runtimePath: String, libraries: [(source: String, target: String)], imagePath: String,
                runtimeArguments: [String], kernelParameters: [String] = ["console=ttyS0", "panic=-1"], memory: UInt64? = nil) {
        self.kernelPath = kernelPath
        self.runtimePath = runtimePath
        self.libraries = libraries
        self.imagePath = imagePath
        self.runtimeArguments = runtimeArguments
        self.kernelParameters = kernelParameters
        self.memory = memory
    }
}

extension BootBundle {
    /// Where the image is in the VM.
    public static let imageTarget = "/enclava/image.eimg"
    /// Where the runtime is in the VM.
    public static let runtimeTarget = "/bin/enclava-runtime"
    /// The file listing the kernel modules the runtime loads first, one path per line, in order.
    public static let modulesList = "/enclava/modules"
    /// Where those modules are.
    public static let modulesFolder = "/lib/modules/enclava"
    /// The largest single input file accepted.
    static let maximumInputSize = 4 << 30
    /// Memory the kernel and runtime need besides the unpacked initramfs (refusal threshold, not a promise).
    public static let memoryHeadroom: UInt64 = 256 << 20

    /// Builds the bundle in `directory` (created if missing; an existing `bundle.json` there is replaced):
    /// `vmlinuz`, `initrd.cpio.gz` and `bundle.json`. Two builds of the same inputs are byte-identical.
    /// - Throws: ``MeasurementError`` `.fileUnreadable` for a missing input, `.invalidOption` for a kernel that is
    ///   not a bzImage or a bundle that does not fit `memory`.
    @discardableResult
    public static func build(_ inputs: BootBundleInputs, into directory: String) throws -> BootBundle {
        let kernel = try OVMFFirmware.read(inputs.kernelPath, limit: maximumInputSize, what: "kernel")
        guard kernel.count > 0x206, kernel[0x202..<0x206].elementsEqual(Array("HdrS".utf8)) else {
            throw MeasurementError(.invalidOption, "kernel \(inputs.kernelPath) is not a Linux bzImage (no HdrS header at 0x202); "
                                   + "give a kernel image such as /boot/vmlinuz-…")
        }
        var archive = NewcArchive()
        var contents: [File] = []
        func add(_ target: String, _ bytes: [UInt8], mode: UInt32) {
            archive.add(String(target.drop { $0 == "/" }), .file(bytes, mode: mode))
            contents.append(File(path: target, sha256: Hex.encode(SHA2.sha256(bytes))))
        }
        for folder in ["dev", "proc", "sys", "tmp", "run"] { archive.add(folder, .directory) }
        add(runtimeTarget, try OVMFFirmware.read(inputs.runtimePath, limit: maximumInputSize, what: "runtime"), mode: 0o755)
        archive.add("init", .symlink(runtimeTarget))
        for library in inputs.libraries {
            add(library.target, try OVMFFirmware.read(library.source, limit: maximumInputSize, what: "library"), mode: 0o755)
        }
        add(imageTarget, try OVMFFirmware.read(inputs.imagePath, limit: maximumInputSize, what: "image"), mode: 0o644)
        for file in inputs.extraFiles.sorted(by: { $0.target < $1.target }) {   // owner-only files in owner-only folders
            let bytes = try OVMFFirmware.read(file.source, limit: 64 << 20, what: "file")
            archive.add(String(file.target.drop { $0 == "/" }), .file(bytes, mode: 0o600), folders: .privateDirectory)
            contents.append(File(path: file.target, sha256: Hex.encode(SHA2.sha256(bytes))))
        }
        if !inputs.modules.isEmpty {
            var list = ""
            for (position, module) in inputs.modules.enumerated() {
                let target = modulesFolder + "/" + (position < 10 ? "0" : "") + "\(position)-\(module.name).ko"
                add(target, try OVMFFirmware.read(module.path, limit: 64 << 20, what: "kernel module"), mode: 0o644)
                list += target + "\n"
            }
            add(modulesList, Array(list.utf8), mode: 0o644)
        }
        let cpio = archive.bytes()
        if let memory = inputs.memory {
            let needed = UInt64(kernel.count) + 2 * UInt64(cpio.count) + memoryHeadroom   // gzip of stored blocks ≈ cpio
            guard needed <= memory else {
                throw MeasurementError(.invalidOption, "the bundle needs about \(needed >> 20) MiB of guest memory (kernel, "
                                       + "initramfs packed and unpacked, \(memoryHeadroom >> 20) MiB for the runtime) but "
                                       + "--memory gives \(memory >> 20) MiB; give --memory \((needed >> 20) + 1)M or more")
            }
        }
        let initrd = StoredGzip.compress(cpio)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let kernelFile = File(path: "vmlinuz", sha256: Hex.encode(SHA2.sha256(kernel)))
        let initrdFile = File(path: "initrd.cpio.gz", sha256: Hex.encode(SHA2.sha256(initrd)))
        let cmdline = (inputs.kernelParameters + ["--"] + inputs.runtimeArguments).joined(separator: " ")
        let manifest = Manifest(kernel: kernelFile, initrd: initrdFile, cmdline: cmdline, files: [kernelFile, initrdFile],
                                initrdContents: contents.sorted { $0.path < $1.path })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Data(kernel).write(to: URL(fileURLWithPath: directory + "/vmlinuz"), options: .atomic)
        try Data(initrd).write(to: URL(fileURLWithPath: directory + "/initrd.cpio.gz"), options: .atomic)
        try (encoder.encode(manifest) + Data("\n".utf8)).write(to: URL(fileURLWithPath: directory + "/bundle.json"), options: .atomic)
        return try load(directory: directory)
    }
}
