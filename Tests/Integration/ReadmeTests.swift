import EnclavaTesting
import Foundation
import Testing

/// A README that runs as written (issue 9): every ```sh block after the first (the first is `make demo` /
/// `make test`, which CI runs itself) is run with bash from a fresh folder laid out like a clone — the repository's
/// `Manifests` and `../shared` beside it — with its own ENCLAVA_HOME. The only change made to a block: its
/// `swift build … && export PATH=…` line becomes "use the binaries this test run built".
@Suite(.serialized) struct ReadmeTests {
    let fixture = CLIFixture.shared

    /// The ```sh blocks of `text`, each with the line its fence is on.
    static func shellBlocks(_ text: String) -> [(line: Int, body: String)] {
        var blocks: [(Int, String)] = []
        var current: [String]?
        var start = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if current == nil, line == "```sh" {
                current = []
                start = index + 1
            } else if current != nil, line.hasPrefix("```") {
                blocks.append((start, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(String(line))
            }
        }
        return blocks
    }

    static var blocks: [(line: Int, body: String)] {
        let readme = (try? String(contentsOf: TestPaths.packageRoot().appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        return Array(shellBlocks(readme).dropFirst())
    }

    @Test func theReadmeHasRunnableBlocksAndNoPlaceholders() {
        #expect(Self.blocks.count >= 2, "expected the simulation and MiniLM walk-throughs")
        for block in Self.blocks {
            #expect(!block.body.contains("[--"), "README.md:\(block.line): a literal [--option] cannot be run")
            let commands = block.body.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
            #expect(!commands.contains { $0.contains("…") }, "README.md:\(block.line): an ellipsis cannot be run (use a text block)")
        }
    }

    @Test(arguments: blocks.map(\.line))
    func everyShellBlockRunsAsWritten(_ line: Int) throws {
        let block = try #require(Self.blocks.first { $0.line == line })
        let clone = try TestPaths.makeTemporaryDirectory(prefix: "enclava-readme")
        defer { try? FileManager.default.removeItem(at: clone) }
        let root = clone.appendingPathComponent("clone")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("Manifests"),
                                                   withDestinationURL: fixture.root.appendingPathComponent("Manifests"))
        try FileManager.default.createSymbolicLink(at: clone.appendingPathComponent("shared"), withDestinationURL: TestPaths.shared())
        var script = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
        for text in block.body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if text.range(of: #"^(ENCLAVA_ONLY=\S+ )?swift build "#, options: .regularExpression) != nil {
                script.append("export PATH='\(fixture.bin.path)':$PATH   # README: \(text)")
            } else {
                script.append(text)
            }
        }
        let run = TestProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", script.joined(separator: "\n")],
                              environment: ["ENCLAVA_HOME": clone.appendingPathComponent("home").path,
                                            "TMPDIR": FileManager.default.temporaryDirectory.path])
        run.process.currentDirectoryURL = root
        try run.start()
        let result = run.wait(timeout: 600)
        #expect(result.status == 0, "README.md:\(line): the block failed (\(result.status)):\n\(result.stderr.suffix(3000))")
        #expect(result.stdout.contains("verified enclave:") || result.stdout.contains("\"enclave\""),
                "README.md:\(line): no inference result in the output:\n\(result.stdout.suffix(2000))")
    }
}
