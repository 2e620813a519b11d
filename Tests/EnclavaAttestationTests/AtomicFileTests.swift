import Foundation
import Testing
@testable import EnclavaAttestation

/// AtomicFile's own path splitting (Foundation's `deletingLastPathComponent` traps on one-character paths on
/// Linux, which crashed `enclava policy create --out p`).
@Suite struct AtomicFileTests {
    @Test(arguments: [
        ("p", ".", "p"), ("pq", ".", "pq"), ("./p", ".", "p"), ("/p", "/", "p"), ("a/p", "a", "p"),
        ("/tmp/x/policy.json", "/tmp/x", "policy.json"), ("a//p", "a", "p"), ("dir/sub/", "dir", "sub"),
        ("/", "/", "/"), ("//p", "/", "p"),
    ])
    func splitsPaths(_ path: String, _ parent: String, _ name: String) {
        #expect(AtomicFile.parentDirectory(of: path) == parent)
        #expect(AtomicFile.lastComponent(of: path) == name)
    }

    @Test func writesAOneCharacterFileName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-atomic-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("p").path
        try AtomicFile.write(Array("{}\n".utf8), to: path, mode: 0o644)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{}\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["p"])
    }
}
