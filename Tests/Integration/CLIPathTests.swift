import EnclavaTesting
import Foundation
import Testing

/// Output paths as people type them: bare one-character names, `./name`, relative to the working folder.
@Suite(.serialized) struct CLIPathTests {
    let fixture = CLIFixture.shared

    func run(_ arguments: [String], in folder: URL) throws -> TestProcess.Result {
        let child = TestProcess(fixture.enclava, arguments, environment: fixture.environment)
        child.process.currentDirectoryURL = folder
        try child.start()
        return child.wait(timeout: 120)
    }

    @Test(arguments: ["p", "./q", "sub/r"])
    func policyCreateWritesRelativeOutputs(_ output: String) throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-paths")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let result = try run(["policy", "create", "--image", fixture.image.path, "--allow-simulation", "--out", output],
                             in: work)
        #expect(result.status == 0, "policy create --out \(output) failed: \(result.stderr)")
        let written = work.appendingPathComponent(output)
        let policy = try JSONSerialization.jsonObject(with: Data(contentsOf: written)) as? [String: Any]
        #expect(policy?["allow_simulation"] as? Bool == true)
    }

    @Test func keygenWritesABareName() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-paths")
        defer { try? FileManager.default.removeItem(at: work) }
        let result = try run(["keygen", "--out", "k"], in: work)
        #expect(result.status == 0, "keygen --out k failed: \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("k").path))
    }
}
