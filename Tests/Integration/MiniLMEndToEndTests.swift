import EnclavaTesting
import Foundation
import Testing

/// all-MiniLM-L6-v2 through the full encrypted path with the real processes: `enclava package
/// --asset-root ../shared/models/all-MiniLM-L6-v2` with Manifests/minilm.toml, `enclava serve`, then
/// `enclava infer --text …`; the embeddings match sentence-transformers' within 1e-4.
@Suite(.serialized) struct MiniLMEndToEndTests {
    let fixture = CLIFixture.shared

    /// The MiniLM image, packaged once (the model is 90 MB).
    static let image: Result<URL, any Error> = Result {
        let fixture = CLIFixture.shared
        let image = fixture.work.appendingPathComponent("minilm.eimg")
        try fixture.expectSuccess(["package", "--manifest", fixture.root.appendingPathComponent("Manifests/minilm.toml").path,
                                   "--asset-root", TestPaths.shared().appendingPathComponent("models/all-MiniLM-L6-v2").path,
                                   "--signer", fixture.signer.path, "--out", image.path, "--seal-for", "sim"])
        return image
    }

    /// Starts `enclava serve` for `image` on a free port; returns it with its policy.
    func startBridge(image: URL) throws -> (TestProcess, Int, URL) {
        let policy = fixture.work.appendingPathComponent("minilm-policy-\(UUID().uuidString.prefix(6)).json")
        try fixture.expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", image.path, "--backend", "sim", "--listen", "127.0.0.1:\(port)"],
                                           port: port, timeout: 180)
        return (serve, port, policy)
    }

    @Test func textsGetGoldenEmbeddingsAndOverLimitRequestsAreRefused() throws {
        let image = try Self.image.get()
        let (serve, port, policy) = try startBridge(image: image)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let endpoint = ["--endpoint", "127.0.0.1:\(port)", "--policy", policy.path]

        // Two short sentences, in the opposite order to the golden batch.
        let infer = try fixture.run(["infer"] + endpoint + ["--text", MiniLMGolden.texts[1], "--text", MiniLMGolden.texts[0], "--json"],
                                    timeout: 300)
        try #require(infer.status == 0, "infer failed: \(infer.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(infer.stdout.utf8)) as? [String: Any])
        let outputs = try #require(report["outputs"] as? [String: Any])
        #expect(Array(outputs.keys) == ["embeddings"])
        let embeddings = try #require(outputs["embeddings"] as? [String: Any])
        #expect(embeddings["dtype"] as? String == "float32")
        #expect(embeddings["shape"] as? [Int] == [2, MiniLMGolden.width])
        let values = try #require(embeddings["data"] as? [NSNumber]).map(\.floatValue)
        try #require(values.count == 2 * MiniLMGolden.width)
        for (row, golden) in [(0, 1), (1, 0)] {
            let got = values[(row * MiniLMGolden.width)..<((row + 1) * MiniLMGolden.width)]
            let worst = zip(got, MiniLMGolden.embedding(golden)).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "text \(golden): max abs error \(worst)")
        }
        let enclave = try #require(report["enclave"] as? [String: Any])
        #expect(enclave["simulated"] as? Bool == true)

        // Nine texts: one over max_texts = 8; refused inside the encrypted result, naming the input.
        let many = try fixture.run(["infer"] + endpoint + (1...9).flatMap { ["--text", "text \($0)"] }, timeout: 120)
        #expect(many.status != 0)
        #expect(many.stderr.contains("INVALID_ARGUMENT") && many.stderr.contains("input `texts`")
                && many.stderr.contains("at most 8"), "\(many.stderr)")

        // A text of 16385 bytes: one over max_text_bytes = 16384.
        let long = try fixture.run(["infer"] + endpoint + ["--text", "short", "--text", String(repeating: "a", count: 16385)],
                                   timeout: 120)
        #expect(long.status != 0)
        #expect(long.stderr.contains("INVALID_ARGUMENT") && long.stderr.contains("input `texts[1]`")
                && long.stderr.contains("16385 bytes"), "\(long.stderr)")

        // Raw tensors are not part of a sentence-embedding image's contract.
        let tensors = try fixture.run(["infer"] + endpoint + ["--input", "input_ids=[[101,102]]"], timeout: 120)
        #expect(tensors.status != 0)
        #expect(tensors.stderr.contains("TENSORS_NOT_SUPPORTED"), "\(tensors.stderr)")

        // The enclave is still serving after the refusals.
        let again = try fixture.run(["infer"] + endpoint + ["--text", MiniLMGolden.texts[1], "--json"], timeout: 300)
        #expect(again.status == 0, "\(again.stderr)")
    }

    /// Texts from where people keep them: a file (`--text @FILE`, here 1 MB — the tokenizer stops at
    /// max_sequence_length), standard input (`--text -`), a JSON-lines file (`--texts-jsonl`), and `@@` for a literal @.
    @Test func textsFromFilesStandardInputAndJSONLines() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-texts")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = try String(contentsOf: fixture.root.appendingPathComponent("Manifests/minilm.toml"), encoding: .utf8)
            .replacingOccurrences(of: "max_text_bytes = 16384", with: "max_text_bytes = 1048576")
        let manifestPath = folder.appendingPathComponent("minilm-1mb.toml")
        try manifest.write(to: manifestPath, atomically: true, encoding: .utf8)
        let image = folder.appendingPathComponent("minilm-1mb.eimg")
        try fixture.expectSuccess(["package", "--manifest", manifestPath.path, "--asset-root",
                                   TestPaths.shared().appendingPathComponent("models/all-MiniLM-L6-v2").path,
                                   "--signer", fixture.signer.path, "--out", image.path, "--seal-for", "sim", "--quiet"])
        let (serve, port, policy) = try startBridge(image: image)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let endpoint = ["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path, "--json"]
        func embeddings(_ result: TestProcess.Result) throws -> [[Float]] {
            try #require(result.status == 0, "infer failed: \(result.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let tensor = try #require((report["outputs"] as? [String: Any])?["embeddings"] as? [String: Any])
            let values = try #require(tensor["data"] as? [NSNumber]).map(\.floatValue)
            return stride(from: 0, to: values.count, by: MiniLMGolden.width).map { Array(values[$0..<($0 + MiniLMGolden.width)]) }
        }
        func close(_ a: [Float], _ b: [Float]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 } }

        // A 1 MB text from a file.
        let big = folder.appendingPathComponent("big.txt")
        let sentence = MiniLMGolden.texts[0] + " "
        try String(repeating: sentence, count: (1 << 20) / sentence.utf8.count).write(to: big, atomically: true, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: big.path)[.size] as? Int ?? 0 > 1_000_000)
        let fromFile = try embeddings(try fixture.run(endpoint + ["--text", "@" + big.path], timeout: 300))
        #expect(fromFile.count == 1)

        // Standard input, then a JSON-lines file with a string line and an object line.
        let stdin = TestProcess(fixture.enclava, endpoint + ["--text", "-"], environment: fixture.environment)
        let pipe = Pipe()
        stdin.process.standardInput = pipe
        try stdin.start()
        pipe.fileHandleForWriting.write(Data(MiniLMGolden.texts[1].utf8))
        try pipe.fileHandleForWriting.close()
        let fromStdin = try embeddings(stdin.wait(timeout: 300))
        #expect(fromStdin.count == 1 && close(fromStdin[0], MiniLMGolden.embedding(1)))

        let lines = folder.appendingPathComponent("texts.jsonl")
        let jsonl = try String(data: JSONSerialization.data(withJSONObject: MiniLMGolden.texts[0], options: [.fragmentsAllowed]),
                               encoding: .utf8)! + "\n\n" + String(data: JSONSerialization.data(withJSONObject: ["text": MiniLMGolden.texts[1]]),
                                                                       encoding: .utf8)! + "\n"
        try jsonl.write(to: lines, atomically: true, encoding: .utf8)
        let fromLines = try embeddings(try fixture.run(endpoint + ["--texts-jsonl", lines.path], timeout: 300))
        #expect(fromLines.count == 2 && close(fromLines[0], MiniLMGolden.embedding(0)) && close(fromLines[1], MiniLMGolden.embedding(1)))

        // @@ is a literal @; a bad JSON line and two readers of standard input are refused before connecting.
        #expect(try embeddings(try fixture.run(endpoint + ["--text", "@@mention"], timeout: 300)).count == 1)
        try "\"ok\"\n[1, 2]\n".write(to: lines, atomically: true, encoding: .utf8)
        let badLine = try fixture.run(endpoint + ["--texts-jsonl", lines.path])
        #expect(badLine.status != 0 && badLine.stderr.contains("texts.jsonl:2: each line must be a JSON string"), "\(badLine.stderr)")
        let twoReaders = try fixture.run(endpoint + ["--text", "-", "--texts-jsonl", "-"])
        #expect(twoReaders.status != 0 && twoReaders.stderr.contains("standard input can feed one input only"), "\(twoReaders.stderr)")
    }

    @Test func theTensorDemoRefusesTexts() throws {
        let policy = fixture.policy.path
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", fixture.image.path, "--backend", "sim",
                                            "--listen", "127.0.0.1:\(port)"], port: port)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let result = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy, "--text", "hello"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("TEXTS_NOT_SUPPORTED"), "\(result.stderr)")
    }
}
