import EnclavaTesting
import Foundation
import Testing

/// Every CLI command given bad input prints one line naming the problem, exits non-zero and leaves no
/// partial output file behind.
@Suite(.serialized) struct CLIBadInputTests {
    let fixture = CLIFixture.shared

    /// A bad-input case: arguments (with `{W}` for a fresh work folder), what stderr must mention, and an
    /// output path (relative to `{W}`) that must not exist afterwards.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let arguments: [String]
        let mentions: String
        let output: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "keygen into a missing folder", arguments: ["keygen", "--out", "{W}/no/such/dir/k.pem"],
             mentions: "does not exist", output: "no/such/dir/k.pem"),
        Case(name: "keygen over an existing file", arguments: ["keygen", "--out", "{W}/existing.pem"],
             mentions: "already exists", output: nil),
        Case(name: "keygen to standard output", arguments: ["keygen", "--out", "-"],
             mentions: "give a file name instead of -", output: nil),
        Case(name: "keygen into a folder", arguments: ["keygen", "--out", "{W}/m"],
             mentions: "is a folder; give the path of a file", output: nil),
        Case(name: "policy create into a folder",
             arguments: ["policy", "create", "--image", "{IMAGE}", "--allow-simulation", "--out", "{W}/m/"],
             mentions: "is a folder", output: nil),
        Case(name: "package into a read-only folder",
             arguments: ["package", "--manifest", "{DEMO}", "--signer", "{SIGNER}", "--out", "/proc/o.eimg", "--seal-for", "sim"],
             mentions: "/proc", output: nil),   // root may write anywhere; /proc refuses new files even to root
        Case(name: "measure a missing manifest", arguments: ["measure", "--manifest", "{W}/missing.toml"],
             mentions: "missing.toml", output: nil),
        Case(name: "package a missing manifest",
             arguments: ["package", "--manifest", "{W}/missing.toml", "--signer", "{SIGNER}", "--out", "{W}/o.eimg", "--seal-for", "sim"],
             mentions: "missing.toml", output: "o.eimg"),
        Case(name: "package a manifest with a bad value",
             arguments: ["package", "--manifest", "{W}/m/bad-threads.toml", "--signer", "{SIGNER}", "--out", "{W}/o.eimg", "--seal-for", "sim"],
             mentions: "bad-threads.toml:11:", output: "o.eimg"),
        Case(name: "package a manifest that is not TOML",
             arguments: ["package", "--manifest", "{W}/m/syntax.toml", "--signer", "{SIGNER}", "--out", "{W}/o.eimg", "--seal-for", "sim"],
             mentions: "syntax.toml:3", output: "o.eimg"),
        Case(name: "package a manifest whose model is missing",
             arguments: ["package", "--manifest", "{W}/m/no-model.toml", "--signer", "{SIGNER}", "--out", "{W}/o.eimg", "--seal-for", "sim"],
             mentions: "absent.onnx", output: "o.eimg"),
        Case(name: "package with a signer that is not a key",
             arguments: ["package", "--manifest", "{DEMO}", "--signer", "{W}/m/syntax.toml", "--out", "{W}/o.eimg", "--seal-for", "sim"],
             mentions: "syntax.toml", output: "o.eimg"),
        Case(name: "package over an existing image without --force",
             arguments: ["package", "--manifest", "{DEMO}", "--signer", "{SIGNER}", "--out", "{W}/existing.pem", "--seal-for", "sim"],
             mentions: "already exists; choose another path or pass --force", output: nil),
        Case(name: "inspect a missing image", arguments: ["inspect", "{W}/missing.eimg"],
             mentions: "missing.eimg", output: nil),
        Case(name: "inspect a truncated image", arguments: ["inspect", "{W}/truncated.eimg"],
             mentions: "truncated", output: nil),
        Case(name: "inspect a corrupt image", arguments: ["inspect", "{W}/corrupt.eimg"],
             mentions: "signature", output: nil),
        Case(name: "inspect --verify an image whose payload was damaged", arguments: ["inspect", "{W}/payload.eimg", "--verify"],
             mentions: "does not match the hash in the signed header", output: nil),
        Case(name: "inspect with the wrong signer", arguments: ["inspect", "{IMAGE}", "--signer", "{W}/other.pem"],
             mentions: "signer", output: nil),
        Case(name: "policy for a missing image",
             arguments: ["policy", "create", "--image", "{W}/missing.eimg", "--allow-simulation", "--out", "{W}/p.json"],
             mentions: "missing.eimg", output: "p.json"),
        Case(name: "policy create over an existing file without --force",
             arguments: ["policy", "create", "--image", "{IMAGE}", "--allow-simulation", "--out", "{W}/existing.pem"],
             mentions: "already exists; choose another path or pass --force", output: nil),
        Case(name: "infer with a missing policy",
             arguments: ["infer", "--endpoint", "127.0.0.1:1", "--policy", "{W}/missing.json", "--input", "features=[[1]]"],
             mentions: "missing.json", output: nil),
        Case(name: "infer with a malformed policy",
             arguments: ["infer", "--endpoint", "127.0.0.1:1", "--policy", "{W}/m/syntax.toml", "--input", "features=[[1]]"],
             mentions: "policy", output: nil),
        Case(name: "infer with a malformed input",
             arguments: ["infer", "--endpoint", "127.0.0.1:1", "--policy", "{POLICY}", "--input", "features=[[1,"],
             mentions: "features", output: nil),
        Case(name: "infer with a text file over 64 MiB",
             arguments: ["infer", "--endpoint", "127.0.0.1:1", "--policy", "{POLICY}", "--text", "@{W}/huge.txt"],
             mentions: "huge.txt is larger than 64 MiB", output: nil),
        Case(name: "infer with a bad endpoint",
             arguments: ["infer", "--endpoint", "nowhere", "--policy", "{POLICY}", "--input", "features=[[1]]"],
             mentions: "nowhere", output: nil),
        Case(name: "serve a corrupt image",
             arguments: ["serve", "--image", "{W}/corrupt.eimg", "--backend", "sim", "--listen", "127.0.0.1:0"],
             mentions: "signature", output: nil),
        Case(name: "serve an image signed by another key than the pinned one",
             arguments: ["serve", "--image", "{IMAGE}", "--backend", "sim", "--listen", "127.0.0.1:0",
                         "--signer-fingerprint", String(repeating: "ab", count: 32)],
             mentions: "not by the pinned signer " + String(repeating: "ab", count: 32), output: nil),
        Case(name: "serve with a malformed signer fingerprint",
             arguments: ["serve", "--image", "{IMAGE}", "--backend", "sim", "--listen", "127.0.0.1:0",
                         "--signer-fingerprint", "abc"],
             mentions: "64 hex digits", output: nil),
        Case(name: "run a truncated image",
             arguments: ["run", "--sim", "--image", "{W}/truncated.eimg", "--input", "features=[[1]]"],
             mentions: "truncated", output: nil),
    ]

    /// A work folder with the broken files the cases refer to.
    func makeWorkFolder() throws -> URL {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-badinput")
        let m = work.appendingPathComponent("m")
        try FileManager.default.createDirectory(at: m, withIntermediateDirectories: true)
        let demo = try String(contentsOf: fixture.demoDir.appendingPathComponent("manifest.toml"), encoding: .utf8)
        try FileManager.default.copyItem(at: fixture.demoDir.appendingPathComponent("model.onnx"),
                                         to: m.appendingPathComponent("model.onnx"))
        // Line 11 of this file is `threads = 0`.
        let badThreads = """
            [image]
            name = "fraud-detector"
            version = "1.0.0"

            [model]
            file = "model.onnx"
            format = "onnx"

            [runtime]

            threads = 0
            """
        try badThreads.write(to: m.appendingPathComponent("bad-threads.toml"), atomically: true, encoding: .utf8)
        try "[image]\nname = \"x\"\nversion = = 1\n".write(to: m.appendingPathComponent("syntax.toml"), atomically: true, encoding: .utf8)
        try demo.replacingOccurrences(of: "model.onnx", with: "absent.onnx")
            .write(to: m.appendingPathComponent("no-model.toml"), atomically: true, encoding: .utf8)
        try "not a key".write(to: work.appendingPathComponent("existing.pem"), atomically: true, encoding: .utf8)
        let image = [UInt8](try Data(contentsOf: fixture.image))
        try Data(image.prefix(image.count / 3)).write(to: work.appendingPathComponent("truncated.eimg"))
        var corrupt = image
        corrupt[40] ^= 0x01  // inside the signed header
        try Data(corrupt).write(to: work.appendingPathComponent("corrupt.eimg"))
        var payload = image
        payload[payload.count - 20] ^= 0x01  // inside the last asset's ciphertext: the header still verifies
        try Data(payload).write(to: work.appendingPathComponent("payload.eimg"))
        // A sparse file one byte over the 64 MiB input cap (no disk space used).
        let huge = work.appendingPathComponent("huge.txt")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(64 << 20) + 1)
        try handle.close()
        _ = try fixture.run(["keygen", "--out", work.appendingPathComponent("other.pem").path])
        return work
    }

    @Test(arguments: cases) func refusedWithOneLine(_ testCase: Case) throws {
        let work = try makeWorkFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let arguments = testCase.arguments.map {
            $0.replacingOccurrences(of: "{W}", with: work.path)
                .replacingOccurrences(of: "{SIGNER}", with: fixture.signer.path)
                .replacingOccurrences(of: "{IMAGE}", with: fixture.image.path)
                .replacingOccurrences(of: "{POLICY}", with: fixture.policy.path)
                .replacingOccurrences(of: "{DEMO}", with: fixture.demoDir.appendingPathComponent("manifest.toml").path)
        }
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? [])
        let result = try fixture.run(arguments, timeout: 60)
        #expect(result.status != 0, "exit status was 0; stdout: \(result.stdout)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "expected one line on stderr, got: \(result.stderr)")
        #expect(result.stderr.contains(testCase.mentions), "stderr does not mention `\(testCase.mentions)`: \(result.stderr)")
        if let output = testCase.output {
            #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent(output).path))
        }
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? [])
        #expect(after.subtracting(before).isEmpty, "left files behind: \(after.subtracting(before))")
    }
}
