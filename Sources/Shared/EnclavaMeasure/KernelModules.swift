import Foundation

/// The kernel modules a boot bundle carries, in load order (`enclava vm build --kernel-modules DIR`).
///
/// Distribution kernels build vsock, virtio and the TEE guest drivers as modules (Debian's cloud kernel:
/// `CONFIG_VSOCKETS=m`, `CONFIG_VIRTIO_PCI=m`), and the runtime is the VM's only process, so the bundle holds the
/// modules it needs with their dependencies and the runtime loads them as its first step. Dependencies come from
/// each module's own `.modinfo` ELF section (`depends=`), not from a `modules.dep` a host tool wrote, so the bundle
/// depends only on the kernel's files.
public struct KernelModules: Sendable, Equatable {
    /// One module to load.
    public struct Module: Sendable, Equatable {
        /// Its name (`modinfo name=`, dashes as underscores).
        public let name: String
        /// Its file on this machine.
        public let path: String
    }

    /// Every module wanted and its dependencies, each after what it depends on.
    public let loadOrder: [Module]
    /// Wanted modules the kernel has built in (`modules.builtin`): nothing to load.
    public let builtIn: [String]

    /// The modules every bundle asks for: vsock over virtio-pci (how the bridge reaches the runtime) and configfs
    /// (configfs-tsm reports), plus the TEE guest drivers where the kernel has them.
    public static let wanted = ["vmw_vsock_virtio_transport", "virtio_pci", "configfs", "sev_guest", "tdx_guest", "tsm"]
    /// Of ``wanted``, the ones a bundle cannot do without.
    public static let required: Set<String> = ["vmw_vsock_virtio_transport", "virtio_pci"]

    /// Resolves `wanted` in the module tree `directory` (`/lib/modules/VERSION` of the bundle's kernel).
    /// - Throws: ``MeasurementError`` `invalidOption` for a folder that is not a module tree, a required module that
    ///   is missing, a dependency that is missing, a compressed module, or a malformed one.
    public static func resolve(in directory: String, wanted: [String] = KernelModules.wanted,
                               required: Set<String> = KernelModules.required) throws -> KernelModules {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var index: [String: String] = [:]
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root + "/kernel", isDirectory: &isFolder), isFolder.boolValue,
              let walker = FileManager.default.enumerator(atPath: root + "/kernel") else {
            throw MeasurementError(.invalidOption, "--kernel-modules \(directory) has no kernel/ folder: give the kernel's "
                                   + "module tree, /lib/modules/VERSION (from its linux-image package)")
        }
        for case let relative as String in walker {
            let file = relative.split(separator: "/").last.map(String.init) ?? relative
            for suffix in [".ko", ".ko.xz", ".ko.zst", ".ko.gz"] where file.hasSuffix(suffix) {
                let name = canonical(String(file.dropLast(suffix.count)))
                if index[name] == nil || suffix == ".ko" { index[name] = root + "/kernel/" + relative }
            }
        }
        let builtInText = (try? String(contentsOfFile: root + "/modules.builtin", encoding: .utf8)) ?? ""
        let builtInNames = Set(builtInText.split(separator: "\n").compactMap { line in
            line.split(separator: "/").last.map { canonical(String($0.replacingOccurrences(of: ".ko", with: ""))) }
        })

        var order: [Module] = []
        var state: [String: Bool] = [:]   // false: being resolved, true: done
        func visit(_ name: String, neededBy: String?) throws {
            if state[name] == true || builtInNames.contains(name) { return }
            guard state[name] == nil else {
                throw MeasurementError(.invalidOption, "kernel module \(name) depends on itself through \(neededBy ?? "?")")
            }
            guard let path = index[name] else {
                throw MeasurementError(.invalidOption, "kernel module \(name)\(neededBy.map { ", which \($0) needs," } ?? "") "
                                       + "is not in \(directory) and not built in; give the module tree of the kernel the bundle boots")
            }
            guard path.hasSuffix(".ko") else {
                throw MeasurementError(.invalidOption, "kernel module \(path) is compressed; the runtime loads plain .ko "
                                       + "files: decompress the tree first (e.g. `find DIR -name '*.ko.xz' -exec xz -d {} +`)")
            }
            state[name] = false
            for dependency in try dependencies(ofModuleAt: path) { try visit(dependency, neededBy: name) }
            state[name] = true
            order.append(Module(name: name, path: path))
        }
        var builtIn: [String] = []
        for name in wanted.map(canonical) {
            if builtInNames.contains(name) { builtIn.append(name); continue }
            if index[name] == nil, !required.contains(name) { continue }   // optional, and this kernel has no such driver
            try visit(name, neededBy: nil)
        }
        return KernelModules(loadOrder: order, builtIn: builtIn)
    }

    /// Module names use underscores (`sev-guest.ko` is `sev_guest`).
    static func canonical(_ name: String) -> String { name.replacingOccurrences(of: "-", with: "_") }

    /// The `depends=` of a module file's `.modinfo` section.
    /// - Throws: ``MeasurementError`` `invalidOption` when the file is not a 64-bit little-endian ELF with one.
    static func dependencies(ofModuleAt path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), data.count < 64 << 20 else {
            throw MeasurementError(.fileUnreadable, "cannot read the kernel module \(path)")
        }
        guard let info = ELFSection.contents(named: ".modinfo", in: [UInt8](data)) else {
            throw MeasurementError(.invalidOption, "\(path) is not a kernel module (no .modinfo section in a 64-bit ELF)")
        }
        for field in info.split(separator: 0) where field.starts(with: Array("depends=".utf8)) {
            return String(decoding: field.dropFirst(8), as: UTF8.self).split(separator: ",").map { canonical(String($0)) }
        }
        return []
    }
}

/// Reads one section of a 64-bit little-endian ELF file, bounds-checked (a module is a file from outside).
enum ELFSection {
    static func contents(named wanted: String, in bytes: [UInt8]) -> [UInt8]? {
        func u16(_ at: Int) -> Int? { at >= 0 && at + 2 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : nil }
        func u32(_ at: Int) -> Int? { guard let low = u16(at), let high = u16(at + 2) else { return nil }; return low | high << 16 }
        func u64(_ at: Int) -> Int? {
            guard let low = u32(at), let high = u32(at + 4), high < 1 << 20 else { return nil }
            return low | high << 32
        }
        guard bytes.count >= 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1,
              let tableOffset = u64(0x28), let entrySize = u16(0x3A), let count = u16(0x3C), let namesIndex = u16(0x3E),
              entrySize >= 64, namesIndex < count, tableOffset + count * entrySize <= bytes.count else { return nil }
        func section(_ index: Int) -> (name: Int, offset: Int, size: Int)? {
            let header = tableOffset + index * entrySize
            guard let name = u32(header), let offset = u64(header + 0x18), let size = u64(header + 0x20),
                  offset + size <= bytes.count else { return nil }
            return (name, offset, size)
        }
        guard let names = section(namesIndex) else { return nil }
        for index in 0..<count {
            guard let candidate = section(index), candidate.name < names.size else { continue }
            let start = names.offset + candidate.name
            let end = bytes[start..<(names.offset + names.size)].firstIndex(of: 0) ?? (names.offset + names.size)
            if String(decoding: bytes[start..<end], as: UTF8.self) == wanted {
                return Array(bytes[candidate.offset..<(candidate.offset + candidate.size)])
            }
        }
        return nil
    }
}
