import EnclavaTesting
import Foundation
import Testing

/// `enclava inspect` shows what an operator needs without a key: the model's inputs and outputs, the pipeline
/// keys, and with `--verify` whether the encrypted payload is the one that was signed.
@Suite(.serialized) struct InspectCLITests {
    let fixture = CLIFixture.shared

    @Test func inspectShowsTheModelInterfaceAndVerifiesThePayload() throws {
        let result = try fixture.run(["inspect", fixture.image.path, "--verify"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("model input      features: float32 ["), "\(result.stdout)")
        #expect(result.stdout.contains("model output     probabilities: float32 ["), "\(result.stdout)")
        #expect(result.stdout.contains("pipeline         tensor"), "\(result.stdout)")
        #expect(result.stdout.contains("payload          verified"), "\(result.stdout)")

        let json = try fixture.run(["inspect", fixture.image.path, "--json", "--verify"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let model = try #require(object["model"] as? [String: Any])
        let inputs = try #require(model["inputs"] as? [[String: Any]])
        #expect(inputs.first?["name"] as? String == "features")
        #expect((inputs.first?["dims"] as? [String])?.last == "8")
        let assets = try #require(object["assets"] as? [[String: Any]])
        #expect(assets.allSatisfy { ($0["ciphertext_sha256"] as? String)?.count == 64 })
    }

    @Test func aTextImageShowsEveryPipelineKey() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-inspect")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("minilm.eimg")
        try fixture.expectSuccess(["package", "--manifest", TestPaths.packageRoot().appendingPathComponent("Manifests/minilm.toml").path,
                                   "--asset-root", TestPaths.shared().appendingPathComponent("models/all-MiniLM-L6-v2").path,
                                   "--signer", fixture.signer.path, "--out", out.path, "--seal-for", "sim"])
        let result = try fixture.run(["inspect", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("pipeline         sentence-embedding, tokenizer vocab.txt, max_sequence_length 256, "
                                       + "pooling mean, normalize true, lowercase true, max_texts 8, max_text_bytes 16384"),
                "\(result.stdout)")
        #expect(result.stdout.contains("model input      input_ids: int64 ["), "\(result.stdout)")
        #expect(result.stdout.contains("model output     last_hidden_state: float32 ["), "\(result.stdout)")
    }
}
