import EnclavaTesting
import Foundation
import Testing

/// The host's side of sealed restart with the real binaries: `enclava serve --state-dir` prepares a private
/// folder and keeps the image's sealed state for the runtime (`--sealed-state host`: offered and taken over the
/// control socket, the runtime never sees the host's path); hostile folders are refused before
/// anything is launched; `inspect` says where sealed restart works.
@Suite(.serialized) struct SealedStateServeCLITests {
    let fixture = CLIFixture.shared

    /// The command lines of the running children of `parent` (found in /proc).
    static func commandLines(ofChildrenOf parent: Int32) -> [[String]] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  status.split(separator: "\n").contains("PPid:\t\(parent)"),
                  let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func serveCreatesAPrivateStateFolderAndKeepsTheStateForTheRuntime() throws {
        let folder = fixture.work.appendingPathComponent("state-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (serve, _) = try EndToEndTests().startBridge(extra: ["--state-dir", folder.path])
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }

        let attributes = try FileManager.default.attributesOfItem(atPath: folder.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        // The fixture's image has its key sealed in it: the bridge says the folder is not needed, and still passes it.
        #expect(serve.stderrSoFar.contains("--state-dir is not needed for this image"))
        let inspected = try fixture.run(["inspect", fixture.image.path, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        let digest = try #require(summary?["manifest_digest"] as? String)
        _ = digest
        // The runtime does not get the host's path: the bridge offers and takes the blob over the control socket.
        let runtimes = Self.commandLines(ofChildrenOf: serve.process.processIdentifier)
            .filter { $0.first?.hasSuffix("enclava-runtime") == true }
        #expect(runtimes.count == 1, "\(runtimes)")
        if let runtime = runtimes.first, let index = runtime.firstIndex(of: "--sealed-state") {
            #expect(runtime[index + 1] == "host")
            #expect(!runtime.contains { $0.contains(folder.path) }, "\(runtime)")
        } else {
            Issue.record("the runtime got no --sealed-state: \(runtimes)")
        }
    }

    @Test func hostileStateFoldersAreRefusedBeforeLaunch() throws {
        let base = fixture.work.appendingPathComponent("hostile-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        let real = base.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let link = base.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: real)
        let open = base.appendingPathComponent("open")
        try FileManager.default.createDirectory(at: open, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: open.path)
        let inspected = try fixture.run(["inspect", fixture.image.path, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        let digest = try #require(summary?["manifest_digest"] as? String)
        let blocked = base.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent(digest + ".sealed"),
                                                withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: blocked.path)

        for (folder, message) in [(link.path, "is not a folder"), (open.path, "chmod 700"),
                                  (blocked.path, "is not a regular file"),
                                  (base.appendingPathComponent("no/parent").path, "cannot create the folder")] {
            let result = try fixture.run(["serve", "--image", fixture.image.path, "--listen",
                                          "127.0.0.1:\(TestProcess.freeTCPPort())", "--state-dir", folder], timeout: 60)
            #expect(result.status != 0 && result.stderr.contains(message), "\(folder): \(result.stderr)")
            #expect(!result.stdout.contains("ready on"))
        }
    }

    @Test func inspectSaysWhereSealedRestartWorksAndTheRuntimeRefusesAFolderAsItsStateFile() throws {
        let result = try fixture.run(["inspect", fixture.image.path])
        #expect(result.stdout.contains("sealed restart   not needed: the key is sealed in the image"))
        let json = try fixture.run(["inspect", fixture.image.path, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let restart = try #require(summary?["sealed_restart"] as? [String: Any])
        #expect(restart["applies"] as? Bool == false && restart["seal_to"] as? String == "measurement")

        let runtime = try TestProcess.run(fixture.runtime, ["--listen", "unix:/tmp/enclava-unused.sock",
                                                            "--image", fixture.image.path, "--sealed-state", "/tmp/"],
                                          environment: fixture.environment, timeout: 60)
        #expect(runtime.status != 0 && runtime.stderr.contains("or name a file (e.g. state/IMAGE.sealed), got `/tmp/`"), "\(runtime.stderr)")
        let noControl = try TestProcess.run(fixture.runtime, ["--listen", "unix:/tmp/enclava-unused.sock",
                                                              "--image", fixture.image.path, "--sealed-state", "host"],
                                            environment: fixture.environment, timeout: 60)
        #expect(noControl.status != 0 && noControl.stderr.contains("--sealed-state host needs --control"), "\(noControl.stderr)")
    }
}
