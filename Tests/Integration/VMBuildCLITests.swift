import EnclavaTesting
import Foundation
import Testing

/// `enclava vm build` through the real CLI: two builds are byte-identical, `measure --bundle` reads the result
/// and refuses it once a file changed, and bad input is one line naming what to change.
@Suite(.serialized) struct VMBuildCLITests {
    let fixture = CLIFixture.shared

    /// A bzImage-shaped kernel file in `work`.
    static func kernel(in work: URL) throws -> String {
        var bytes = [UInt8](repeating: 0x90, count: 50_000)
        bytes.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        let url = work.appendingPathComponent("vmlinuz")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// `vm build` with a small dynamically linked runtime stand-in (/bin/true: libc and the loader), so the
    /// test exercises the ldd collection without packing the debug runtime's 150 MB of Swift libraries.
    func build(_ work: URL, out: String) throws {
        try fixture.expectSuccess(["vm", "build", "--image", fixture.image.path, "--kernel", try Self.kernel(in: work),
                                   "--runtime", "/bin/true", "--out", work.appendingPathComponent(out).path])
    }

    @Test func twoBuildsAreByteIdenticalAndMeasureReadsThem() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        try build(work, out: "a")
        try build(work, out: "b")
        for name in ["vmlinuz", "initrd.cpio.gz", "bundle.json"] {
            #expect(try Data(contentsOf: work.appendingPathComponent("a/\(name)")) == Data(contentsOf: work.appendingPathComponent("b/\(name)")))
        }
        let manifest = try String(contentsOf: work.appendingPathComponent("a/bundle.json"), encoding: .utf8)
        #expect(manifest.contains("\"path\" : \"/lib/x86_64-linux-gnu/libc.so.6\"") || manifest.contains("libc.so.6"))
        // Debian's OVMF has no kernel-hashes section: reading the bundle got as far as the firmware check.
        if FileManager.default.fileExists(atPath: "/usr/share/ovmf/OVMF.fd") {
            let snp = try fixture.run(["measure", "--snp-launch", "--ovmf", "/usr/share/ovmf/OVMF.fd", "--vcpus", "1",
                                       "--vcpu-type", "EPYC-v4", "--bundle", work.appendingPathComponent("a").path])
            #expect(snp.status != 0 && snp.stderr.contains("has no kernel-hashes section"), "\(snp.stderr)")
            let tdx = try fixture.run(["measure", "--tdx", "--ovmf", "/usr/share/ovmf/OVMF.fd", "--vcpus", "1", "--memory", "1G",
                                       "--bundle", work.appendingPathComponent("a").path])
            #expect(tdx.status == 0, "\(tdx.stderr)")
            try Data([0]).write(to: work.appendingPathComponent("a/initrd.cpio.gz"))
            let changed = try fixture.run(["measure", "--tdx", "--ovmf", "/usr/share/ovmf/OVMF.fd", "--vcpus", "1",
                                           "--memory", "1G", "--bundle", work.appendingPathComponent("a").path])
            #expect(changed.status != 0 && changed.stderr.contains("initrd.cpio.gz has SHA-256"), "\(changed.stderr)")
        }
    }

    @Test func badInputIsRefusedInOneLine() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-vm-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let kernel = try Self.kernel(in: work)
        let out = work.appendingPathComponent("out").path
        let cases: [([String], String)] = [
            (["--image", fixture.image.path, "--kernel", work.appendingPathComponent("missing").path, "--out", out],
             "kernel \(work.appendingPathComponent("missing").path) does not exist"),
            (["--image", kernel, "--kernel", kernel, "--out", out, "--runtime", "/bin/true"],
             "is not an image this runtime can run"),
            (["--image", fixture.image.path, "--kernel", fixture.image.path, "--out", out, "--runtime", "/bin/true"],
             "is not a Linux bzImage (no HdrS header at 0x202)"),
            (["--image", fixture.image.path, "--kernel", kernel, "--out", out, "--runtime", "/bin/true", "--memory", "256M"],
             "but --memory gives 256 MiB; give --memory"),
        ]
        for (arguments, message) in cases {
            let result = try fixture.run(["vm", "build"] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(message), "\(result.stderr)")
        }
    }
}
