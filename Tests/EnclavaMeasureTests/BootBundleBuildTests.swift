import EnclavaCrypto
import EnclavaMeasure
import EnclavaTesting
import Foundation
import Testing

/// `BootBundle.build`: two builds are byte-identical; the initramfs is a sorted newc cpio with fixed times and
/// owners in a gzip member that the real `gzip` unpacks; the bundle measures like its files; bad input is refused.
struct BootBundleBuildTests {
    /// Inputs in a fresh folder: a bzImage-shaped kernel, a runtime, one library, an image.
    static func inputs(_ work: URL, memory: UInt64? = nil) throws -> BootBundleInputs {
        var kernel = [UInt8](repeating: 0x90, count: 70_000)
        kernel.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        let files: [(String, [UInt8])] = [("vmlinuz", kernel), ("runtime", Array(repeating: 0x7f, count: 30_000)),
                                          ("libc.so.6", Array(repeating: 0x11, count: 9_000)),
                                          ("fraud.eimg", (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 5) })]
        for (name, bytes) in files { try Data(bytes).write(to: work.appendingPathComponent(name)) }
        return BootBundleInputs(kernelPath: work.appendingPathComponent("vmlinuz").path,
                                runtimePath: work.appendingPathComponent("runtime").path,
                                libraries: [(work.appendingPathComponent("libc.so.6").path, "/lib/x86_64-linux-gnu/libc.so.6")],
                                imagePath: work.appendingPathComponent("fraud.eimg").path,
                                runtimeArguments: ["--backend", "auto", "--listen", "vsock:5000", "--image", BootBundle.imageTarget],
                                memory: memory)
    }

    @Test func twoBuildsAreByteIdentical() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        let inputs = try Self.inputs(work)
        try BootBundle.build(inputs, into: work.appendingPathComponent("a").path)
        usleep(1_100_000)   // a second later: any timestamp that leaked in would differ
        try BootBundle.build(inputs, into: work.appendingPathComponent("b").path)
        for name in ["vmlinuz", "initrd.cpio.gz", "bundle.json"] {
            let a = try Data(contentsOf: work.appendingPathComponent("a/\(name)"))
            let b = try Data(contentsOf: work.appendingPathComponent("b/\(name)"))
            #expect(a == b, "\(name) differs between two builds")
        }
    }

    @Test func theInitrdIsASortedNewcArchiveThatGzipUnpacks() async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        let bundle = try BootBundle.build(try Self.inputs(work), into: work.appendingPathComponent("out").path)
        let gunzip = try await TestProcess.runOffPool(URL(fileURLWithPath: "/usr/bin/env"), ["sh", "-c", "gzip -dc < '\(bundle.initrdPath)' | od -An -v -tx1"])
        #expect(gunzip.status == 0, "\(gunzip.stderr)")
        let cpio = Hex.decode(gunzip.stdout.filter { !$0.isWhitespace })!
        var entries: [(name: String, fields: [UInt32])] = []
        var offset = 0
        while offset + 110 <= cpio.count {
            let header = String(decoding: cpio[offset..<(offset + 110)], as: UTF8.self)
            #expect(header.hasPrefix("070701"))
            let fields = (0..<13).map { UInt32(header.dropFirst(6 + 8 * $0).prefix(8), radix: 16)! }
            let nameEnd = offset + 110 + Int(fields[11]) - 1
            let name = String(decoding: cpio[(offset + 110)..<nameEnd], as: UTF8.self)
            entries.append((name, fields))
            if name == "TRAILER!!!" { break }
            offset = (nameEnd + 1 + 3) & ~3
            offset = (offset + Int(fields[6]) + 3) & ~3
        }
        let names = entries.map(\.name)
        #expect(names == ["bin", "bin/enclava-runtime", "dev", "enclava", "enclava/image.eimg", "init", "lib",
                          "lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu/libc.so.6", "proc", "run", "sys", "tmp", "TRAILER!!!"])
        #expect(entries.allSatisfy { $0.fields[2] == 0 && $0.fields[3] == 0 && $0.fields[5] == 0 }, "uid, gid and mtime are 0")
        #expect(entries.first { $0.name == "init" }?.fields[1] == 0o120777)
        #expect(bundle.manifest.cmdline == "console=ttyS0 panic=-1 -- --backend auto --listen vsock:5000 --image /enclava/image.eimg")
        #expect(bundle.manifest.initrdContents?.map(\.path) == ["/bin/enclava-runtime", "/enclava/image.eimg",
                                                                "/lib/x86_64-linux-gnu/libc.so.6"])
    }

    /// The bundle's kernel hashes are those of its files and command line, so `measure --bundle` and
    /// `measure --kernel/--initrd/--append` agree.
    @Test func theBundleMeasuresLikeItsFiles() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        let bundle = try BootBundle.build(try Self.inputs(work), into: work.appendingPathComponent("out").path)
        let direct = try SEVKernelHashes(kernelPath: bundle.kernelPath, initrdPath: bundle.initrdPath, cmdline: bundle.manifest.cmdline)
        #expect(try BootBundle.load(directory: bundle.directory).kernelHashes == direct)
    }

    @Test func aKernelThatIsNotABzImageIsRefused() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        var inputs = try Self.inputs(work)
        inputs.kernelPath = inputs.imagePath
        let error = #expect(throws: MeasurementError.self) { try BootBundle.build(inputs, into: work.appendingPathComponent("out").path) }
        #expect(error?.code == .invalidOption)
        #expect(error?.message.contains("is not a Linux bzImage (no HdrS header at 0x202)") == true)
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("out").path))
    }

    @Test func aBundleThatDoesNotFitTheMemoryIsRefused() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        let inputs = try Self.inputs(work, memory: 256 << 20)
        let error = #expect(throws: MeasurementError.self) { try BootBundle.build(inputs, into: work.appendingPathComponent("out").path) }
        #expect(error?.message.contains("but --memory gives 256 MiB; give --memory 257M or more") == true)
    }

    @Test func aMissingKernelIsNamed() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vmbuild")
        defer { try? FileManager.default.removeItem(at: work) }
        var inputs = try Self.inputs(work)
        inputs.kernelPath = "/nonexistent/vmlinuz"
        #expect(throws: MeasurementError(.fileUnreadable, "kernel /nonexistent/vmlinuz does not exist or cannot be read; check the path")) {
            try BootBundle.build(inputs, into: work.appendingPathComponent("out").path)
        }
    }

    /// CRC-32 check value of RFC 1952 / IEEE 802.3 and a stored block over 64 KiB that `gzip` unpacks.
    @Test func storedGzipIsValidGzip() async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-gzip")
        defer { try? FileManager.default.removeItem(at: work) }
        let data = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let file = work.appendingPathComponent("x.gz")
        try Data(StoredGzip.compress(data)).write(to: file)
        let result = try await TestProcess.runOffPool(URL(fileURLWithPath: "/usr/bin/env"), ["sh", "-c", "gzip -dc < '\(file.path)' | sha256sum"])
        #expect(result.stdout.hasPrefix(Hex.encode(SHA2.sha256(data))), "\(result.stderr)")
        #expect(StoredGzip.compress([]).count == 10 + 5 + 8)
    }
}
