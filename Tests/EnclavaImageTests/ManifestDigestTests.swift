import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

@Suite struct ManifestDigestTests {
    let assets = [AssetDigest(name: "model.onnx", role: .model, sha256: SHA2.sha256([1, 2, 3])),
                  AssetDigest(name: "vocab.txt", role: .tokenizer, sha256: SHA2.sha256([4]))]

    @Test func stableAcrossKeyOrderWhitespaceCommentsAndDefaults() throws {
        let reference = try ManifestDigest.compute(manifestText: fullManifest, sourceName: "a.toml", assets: assets)
        #expect(reference.count == 48)
        let reordered = """
        # a comment
        [keys]
        release="owner"
        [runtime]
        max_frame_bytes = 4_194_304
        max_queue   = 64
        threads = 2
        [pipeline]
        normalize = true
        pooling = 'mean'
        max_sequence_length = 256
        tokenizer = "./vocab.txt"
        kind = "sentence-embedding"
        [model]
        format = "onnx"
        file = "model.onnx"   # trailing comment
        [image]
        version = "1.0.0"
        name = "minilm-embeddings"
        """
        #expect(try ManifestDigest.compute(manifestText: reordered, sourceName: "b.toml", assets: assets) == reference)
        // `max_batch = 8` is the default: leaving it out must not change the identity.
        let withoutDefault = replacingLine(18, with: "")
        #expect(try ManifestDigest.compute(manifestText: withoutDefault, sourceName: "c.toml", assets: assets) == reference)
    }

    @Test func changesWithEveryMeaningfulField() throws {
        let reference = try ManifestDigest.compute(manifestText: fullManifest, sourceName: "a.toml", assets: assets)
        let variants = [
            replacingLine(3, with: "version = \"1.0.1\""),
            replacingLine(17, with: "threads = 3"),
            replacingLine(23, with: "release = \"sealed\""),
            replacingLine(14, with: "normalize = false"),
        ]
        var seen: Set<[UInt8]> = [reference]
        for variant in variants {
            seen.insert(try ManifestDigest.compute(manifestText: variant, sourceName: "v.toml", assets: assets))
        }
        #expect(seen.count == variants.count + 1)
        var otherAssets = assets
        otherAssets[1].sha256[0] ^= 1
        #expect(try ManifestDigest.compute(manifestText: fullManifest, sourceName: "a.toml", assets: otherAssets) != reference)
    }

    @Test func canonicalFormIsSortedCompactJSON() throws {
        let manifest = try Manifest.parse("[image]\nname = \"a\"\nversion = \"1\"\n[model]\nfile = \"m.onnx\"\n", sourceName: "m")
        let form = String(decoding: ManifestDigest.canonicalForm(of: manifest, assets: [
            AssetDigest(name: "m.onnx", role: .model, sha256: [0xAB]),
        ]), as: UTF8.self)
        #expect(form == #"{"assets":[{"name":"m.onnx","role":"model","sha256":"ab"}],"format":"enclava-manifest-v1","image":{"name":"a","version":"1"},"keys":{"release":"owner"},"model":{"file":"m.onnx","format":"onnx"},"pipeline":{"kind":"tensor"},"runtime":{"max_batch":8,"max_frame_bytes":4194304,"max_queue":64,"threads":1}}"#)
        #expect(try JSONSerialization.jsonObject(with: Data(form.utf8)) is [String: Any])
    }

    @Test func measureHashesTheFilesAndFollowsAnAssetByteChange() throws {
        let fixture = try PackagingFixture()
        let first = try ManifestDigest.measure(manifestPath: fixture.manifestPath)
        #expect(first.assets.map(\.size) == [UInt64(PackagingFixture.modelSize), UInt64(PackagingFixture.vocabSize)])
        #expect(first.assets[0].sha256 == SHA2.sha256(fixture.model))
        #expect(first.digest == ManifestDigest.compute(manifest: first.manifest, assets: first.assets.map(\.digest)))
        #expect(try ManifestDigest.measure(manifestPath: fixture.manifestPath).digest == first.digest)

        var changed = fixture.model
        changed[PackagingFixture.modelSize - 1] ^= 0x01
        try fixture.folder.write("model.onnx", changed)
        #expect(try ManifestDigest.measure(manifestPath: fixture.manifestPath).digest != first.digest)
    }

    @Test func measureReportsMissingFilesWithTheirLine() throws {
        let fixture = try PackagingFixture()
        try FileManager.default.removeItem(atPath: fixture.folder.file("vocab.txt"))
        let error = try #require(throws: ManifestError.self) { try ManifestDigest.measure(manifestPath: fixture.manifestPath) }
        #expect(error.code == .invalidPath)
        #expect(error.line == 10)
        #expect(error.description.hasPrefix(fixture.manifestPath + ":10: `tokenizer` = \"vocab.txt\": cannot read"))

        let missing = try #require(throws: ManifestError.self) {
            try ManifestDigest.measure(manifestPath: fixture.folder.file("nope.toml"))
        }
        #expect(missing.code == .fileUnreadable)
        #expect(!missing.description.contains("\n"))
    }

    @Test func symlinkOutOfTheFolderIsRejected() throws {
        let fixture = try PackagingFixture()
        let outside = try TemporaryFolder()
        try outside.write("secret.onnx", [1, 2, 3])
        try FileManager.default.removeItem(atPath: fixture.folder.file("model.onnx"))
        try FileManager.default.createSymbolicLink(atPath: fixture.folder.file("model.onnx"), withDestinationPath: outside.file("secret.onnx"))
        let error = try #require(throws: ManifestError.self) { try ManifestDigest.measure(manifestPath: fixture.manifestPath) }
        #expect(error.code == .invalidPath)
        #expect(error.line == 6)
        #expect(error.message.contains("outside the manifest's folder"))
    }

    @Test func loadReturnsTheManifestFolder() throws {
        let fixture = try PackagingFixture()
        let (manifest, base) = try Manifest.load(path: fixture.manifestPath)
        #expect(manifest.image.name == "test-embeddings")
        #expect(base == fixture.folder.path)
        try fixture.folder.write("bad.toml", [0xFF, 0xFE, 0x00])
        #expect(throws: ManifestError.self) { try Manifest.load(path: fixture.folder.file("bad.toml")) }
    }
}
