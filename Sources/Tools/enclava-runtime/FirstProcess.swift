import CEnclaveSystem
import Foundation

/// The runtime as a confidential VM's first process (DESIGN.md §8: the launch bundle's `/init` is
/// `enclava-runtime`, its arguments after `--` on the kernel command line). The kernel starts it with nothing
/// mounted, so it mounts what it needs itself — /proc, /sys, /dev (devtmpfs: `/dev/sev-guest`, `/dev/tdx_guest`,
/// the console) and configfs at /sys/kernel/config (configfs-tsm, where SEV-SNP and TDX reports come from) — and
/// when it ends it powers the VM off rather than exiting (a first process that exits panics the kernel).
///
/// Nothing here runs unless the process is PID 1. In a PID namespace (the tests: `unshare --pid --mount`) the same
/// steps run in that namespace's private mounts, and powering off ends the namespace.
enum FirstProcess {
    /// Whether this process is the first one of its PID namespace.
    static var isFirst: Bool { getpid() == 1 }

    /// What the first process mounts, in order: (source, target, type).
    static let mounts: [(source: String, target: String, type: String)] = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("configfs", "/sys/kernel/config", "configfs"),
    ]

    /// Mounts what a first process needs and gives it a console; writes one line to standard error saying what it
    /// did (logging is not set up yet). A mount that fails is named in that line (a kernel without configfs still
    /// serves, with no configfs-tsm reports).
    static func prepare() {
        let modules = loadModules()   // first: configfs may be one of them
        var mounted: [String] = []
        var failed: [String] = []
        for mount in mounts {
            try? FileManager.default.createDirectory(atPath: mount.target, withIntermediateDirectories: true)
            let flags = mount.type == "devtmpfs" ? UInt(MS_NOSUID_VALUE) : enclava_sys_mount_flags_pseudo()
            let error = enclava_sys_mount(mount.source, mount.target, mount.type, flags)
            if error == 0 || error == EBUSY {
                mounted.append(mount.target)
            } else {
                failed.append("\(mount.target) (\(String(cString: strerror(error))))")
            }
        }
        attachConsoleIfNeeded()
        var line = "enclava-runtime: first process: mounted \(mounted.joined(separator: ", "))"
        if !failed.isEmpty { line += "; could not mount \(failed.joined(separator: ", "))" }
        line += modules + configureNetwork()
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The command line from /proc/self/cmdline (Swift's `CommandLine.arguments` is empty for a first process: it
    /// was read before /proc was mounted).
    static func commandLine() -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/self/cmdline"), !data.isEmpty else {
            return CommandLine.arguments
        }
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast(data.last == 0 ? 1 : 0)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bundle's list of kernel modules (`enclava vm build --kernel-modules`), loaded in order.
    static let modulesList = "/enclava/modules"

    /// Loads the modules the bundle lists (vsock, virtio-pci, configfs, TEE guest drivers), only when `/` is the
    /// initramfs (never a host's root, whatever file is there); returns what it did for the log line.
    static func loadModules() -> String {
        guard enclava_sys_root_is_initramfs() == 1,
              let list = try? String(contentsOfFile: modulesList, encoding: .utf8) else { return "" }
        var loaded = 0
        var failed: [String] = []
        for path in list.split(separator: "\n") where !path.isEmpty {
            let error = enclava_sys_load_module(String(path))
            if error == 0 { loaded += 1 } else { failed.append("\(path) (\(String(cString: strerror(error))))") }
        }
        return "; loaded \(loaded) kernel modules" + (failed.isEmpty ? "" : "; could not load \(failed.joined(separator: ", "))")
    }

    /// `ENCLAVA_NET=ADDRESS/PREFIX` on the kernel command line (the kernel hands it to the first process as an
    /// environment variable): a simulated-TEE VM reached through QEMU user networking gives `eth0` that address and
    /// brings `lo` up. Confidential VMs are reached over vsock and have no such parameter.
    static func configureNetwork() -> String {
        guard enclava_sys_root_is_initramfs() == 1, let text = ProcessInfo.processInfo.environment["ENCLAVA_NET"] else { return "" }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let prefix = UInt32(parts[1]), (1...32).contains(prefix),
              let address = ipv4(String(parts[0])) else {
            return "; ENCLAVA_NET=\(text) is not ADDRESS/PREFIX (e.g. 10.0.2.15/24): no network"
        }
        let mask = UInt32.max << (32 - prefix)
        _ = enclava_sys_configure_ipv4("lo", ipv4("127.0.0.1")!, (UInt32(0xFF00_0000)).bigEndian)
        let error = enclava_sys_configure_ipv4("eth0", address, mask.bigEndian)
        return error == 0 ? "; eth0 is \(text)" : "; could not configure eth0 as \(text) (\(String(cString: strerror(error))))"
    }

    /// A dotted IPv4 address in network byte order.
    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4, text.split(separator: ".").count == 4 else { return nil }
        return (UInt32(octets[0]) << 24 | UInt32(octets[1]) << 16 | UInt32(octets[2]) << 8 | UInt32(octets[3])).bigEndian
    }

    /// A first process started from an initramfs without `/dev/console` has no standard streams: once devtmpfs is
    /// mounted, the console becomes standard input, output and error.
    static func attachConsoleIfNeeded() {
        guard fcntl(STDERR_FILENO, F_GETFD) == -1 else { return }
        let console = open("/dev/console", O_RDWR | O_NOCTTY)
        guard console >= 0 else { return }
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(console, descriptor) }
        if console > STDERR_FILENO { close(console) }
    }

    /// Ends the process: exits, or as a first process powers the VM off (after `status` is written to the console).
    static func end(_ status: Int32) -> Never {
        guard isFirst else { Foundation.exit(status) }
        FileHandle.standardError.write(Data("enclava-runtime: first process ending (status \(status)): powering off\n".utf8))
        let error = enclava_sys_power_off()
        FileHandle.standardError.write(Data("enclava-runtime: power off failed (\(String(cString: strerror(error)))); exiting\n".utf8))
        Foundation.exit(status)
    }

    /// MS_NOSUID, for devtmpfs (device nodes must stay usable, so not MS_NODEV).
    private static let MS_NOSUID_VALUE: UInt32 = 2
}
