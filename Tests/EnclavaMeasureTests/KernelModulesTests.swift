import Foundation
import Testing
@testable import EnclavaMeasure

/// `enclava vm build --kernel-modules`: which modules a bundle carries and in what order, from each module's own
/// `.modinfo` (a fake module tree of minimal ELF files here).
@Suite struct KernelModulesTests {
    /// A minimal 64-bit little-endian ELF whose `.modinfo` section holds `fields` (NUL-separated).
    static func module(_ fields: [String]) -> [UInt8] {
        let info: [UInt8] = fields.flatMap { Array($0.utf8) + [UInt8(0)] }
        let names: [UInt8] = [0] + Array(".modinfo".utf8) + [0] + Array(".shstrtab".utf8) + [0]
        let infoOffset = 64, namesOffset = infoOffset + info.count, tableOffset = (namesOffset + names.count + 7) & ~7
        var bytes = [UInt8](repeating: 0, count: tableOffset + 3 * 64)
        func put(_ value: Int, at offset: Int, size: Int) {
            for index in 0..<size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        bytes.replaceSubrange(0..<6, with: [UInt8]([0x7F, 0x45, 0x4C, 0x46, 2, 1]))
        put(tableOffset, at: 0x28, size: 8)
        put(64, at: 0x3A, size: 2)
        put(3, at: 0x3C, size: 2)
        put(2, at: 0x3E, size: 2)
        bytes.replaceSubrange(infoOffset..<(infoOffset + info.count), with: info)
        bytes.replaceSubrange(namesOffset..<(namesOffset + names.count), with: names)
        for (index, (name, offset, size)) in [(1, infoOffset, info.count), (10, namesOffset, names.count)].enumerated() {
            let header = tableOffset + (index + 1) * 64
            put(name, at: header, size: 4)
            put(offset, at: header + 0x18, size: 8)
            put(size, at: header + 0x20, size: 8)
        }
        return bytes
    }

    func tree(_ modules: [String: [String]], builtIn: [String] = [], compressed: [String] = []) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-modules-\(UUID().uuidString.prefix(8))")
        for (name, depends) in modules {
            let file = root.appendingPathComponent("kernel/drivers/\(name.replacingOccurrences(of: "_", with: "-")).ko"
                                                   + (compressed.contains(name) ? ".xz" : ""))
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(Self.module(["license=GPL", "depends=\(depends.joined(separator: ","))", "name=\(name)"])).write(to: file)
        }
        try builtIn.map { "kernel/fs/\($0).ko" }.joined(separator: "\n").write(to: root.appendingPathComponent("modules.builtin"),
                                                                                   atomically: true, encoding: .utf8)
        return root.path
    }

    @Test func dependenciesComeFirstAndBuiltInsAndAbsentOptionalsAreSkipped() throws {
        let root = try tree(["vmw_vsock_virtio_transport": ["vsock", "vmw_vsock_virtio_transport_common", "virtio"],
                             "vmw_vsock_virtio_transport_common": ["vsock", "virtio"], "vsock": [], "virtio": ["virtio_ring"],
                             "virtio_ring": [], "virtio_pci": ["virtio", "virtio_pci_modern_dev"], "virtio_pci_modern_dev": [],
                             "sev_guest": []], builtIn: ["configfs"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let resolved = try KernelModules.resolve(in: root)
        let names = resolved.loadOrder.map(\.name)
        #expect(Set(names) == ["vsock", "virtio_ring", "virtio", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport",
                               "virtio_pci_modern_dev", "virtio_pci", "sev_guest"])
        for module in resolved.loadOrder {
            for dependency in try KernelModules.dependencies(ofModuleAt: module.path) {
                #expect(names.firstIndex(of: dependency)! < names.firstIndex(of: module.name)!, "\(dependency) after \(module.name)")
            }
        }
        #expect(resolved.builtIn == ["configfs"])
        #expect(!names.contains("tdx_guest"))   // this kernel has no such driver: optional
    }

    @Test func aMissingRequiredModuleOrDependencyACycleAndACompressedModuleAreNamed() throws {
        let noVsock = try tree(["virtio_pci": []])
        defer { try? FileManager.default.removeItem(atPath: noVsock) }
        let missing = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: noVsock) }
        #expect(missing?.message.contains("kernel module vmw_vsock_virtio_transport is not in") == true, "\(String(describing: missing))")

        let noDependency = try tree(["vmw_vsock_virtio_transport": ["vsock"], "virtio_pci": []])
        defer { try? FileManager.default.removeItem(atPath: noDependency) }
        let dependency = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: noDependency) }
        #expect(dependency?.message.contains("kernel module vsock, which vmw_vsock_virtio_transport needs, is not in") == true)

        let cycle = try tree(["vmw_vsock_virtio_transport": ["vsock"], "vsock": ["vmw_vsock_virtio_transport"], "virtio_pci": []])
        defer { try? FileManager.default.removeItem(atPath: cycle) }
        let looped = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: cycle) }
        #expect(looped?.message.contains("depends on itself") == true)

        let packed = try tree(["vmw_vsock_virtio_transport": [], "virtio_pci": []], compressed: ["virtio_pci"])
        defer { try? FileManager.default.removeItem(atPath: packed) }
        let compressed = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: packed) }
        #expect(compressed?.message.contains("is compressed") == true)

        let notATree = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: "/nonexistent-modules") }
        #expect(notATree?.message.contains("has no kernel/ folder") == true)
    }

    @Test func aFileThatIsNotAnELFModuleIsRefused() throws {
        let root = try tree(["virtio_pci": []])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = root + "/kernel/drivers/vmw-vsock-virtio-transport.ko"
        try Data("not an elf".utf8).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: MeasurementError.self) { try KernelModules.resolve(in: root) }
        #expect(error?.message.contains("is not a kernel module (no .modinfo section") == true)
        #expect(ELFSection.contents(named: ".modinfo", in: Self.module(["depends="])) != nil)
        var truncated = Self.module(["depends=a"])
        truncated.removeLast(10)
        #expect(ELFSection.contents(named: ".modinfo", in: truncated) == nil)
    }
}
