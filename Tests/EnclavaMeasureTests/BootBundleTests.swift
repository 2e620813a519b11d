import EnclavaCrypto
import EnclavaMeasure
import EnclavaTesting
import Foundation
import Testing

/// `bundle.json` is read with every digest verified; a changed file, a path leaving the folder or a
/// malformed manifest is refused with what to do.
struct BootBundleTests {
    /// A bundle folder with a kernel, an initrd and one more file, and its manifest.
    static func makeBundle(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-bundle")
        let files: [(String, [UInt8])] = [("vmlinuz", Array(repeating: 0x4b, count: 5000)),
                                          ("initrd.cpio.gz", Array(repeating: 0x1f, count: 3000)),
                                          ("model.eimg", Array(repeating: 0x33, count: 100))]
        var entries: [[String: String]] = []
        for (name, bytes) in files {
            try Data(bytes).write(to: folder.appendingPathComponent(name))
            entries.append(["path": name, "sha256": Hex.encode(SHA2.sha256(bytes))])
        }
        var json: [String: Any] = ["version": 1, "kernel": entries[0], "initrd": entries[1],
                                   "cmdline": "console=ttyS0 enclava.image=/model.eimg", "files": entries]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("bundle.json"))
        return folder
    }

    @Test func aBundleLoadsAndItsHashesAreTheFiles() throws {
        let folder = try Self.makeBundle()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try BootBundle.load(directory: folder.path)
        let direct = try SEVKernelHashes(kernelPath: folder.appendingPathComponent("vmlinuz").path,
                                         initrdPath: folder.appendingPathComponent("initrd.cpio.gz").path,
                                         cmdline: "console=ttyS0 enclava.image=/model.eimg")
        #expect(bundle.kernelHashes == direct)
    }

    @Test func aChangedFileIsRefused() throws {
        let folder = try Self.makeBundle()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("initrd.cpio.gz"))
        let error = #expect(throws: MeasurementError.self) { try BootBundle.load(directory: folder.path) }
        #expect(error?.code == .bundleDigestMismatch)
        #expect(error?.message.contains("initrd.cpio.gz has SHA-256 \(Hex.encode(SHA2.sha256([1, 2, 3]))), not the") == true)
    }

    @Test(arguments: ["../etc/passwd", "/etc/passwd", "a//b", ""])
    func aPathLeavingTheBundleIsRefused(_ path: String) throws {
        let folder = try Self.makeBundle { json in
            var files = json["files"] as! [[String: String]]
            files.append(["path": path, "sha256": String(repeating: "0", count: 64)])
            json["files"] = files
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: MeasurementError.self) { try BootBundle.load(directory: folder.path) }
        #expect(error?.code == .bundleInvalid)
        #expect(error?.message.contains("which is not a plain path inside the bundle") == true)
    }

    @Test func aManifestWithoutCmdlineIsRefused() throws {
        let folder = try Self.makeBundle { $0["cmdline"] = nil }
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: MeasurementError.self) { try BootBundle.load(directory: folder.path) }
        #expect(error?.code == .bundleInvalid)
        #expect(error?.message.contains("(no `cmdline`)") == true)
    }

    @Test func anotherVersionIsRefused() throws {
        let folder = try Self.makeBundle { $0["version"] = 2 }
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: MeasurementError.self) { try BootBundle.load(directory: folder.path) }
        #expect(error?.message.contains("has version 2; this enclava reads version 1") == true)
    }

    @Test func aFolderWithoutManifestIsRefused() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-bundle")
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: MeasurementError.self) { try BootBundle.load(directory: folder.path) }
        #expect(error?.code == .bundleInvalid)
        #expect(error?.message.contains("bundle.json is missing or unreadable") == true)
    }
}
