import Testing
@testable import EnclavaImage

/// A complete, valid manifest; tests change one line of it at a time.
let fullManifest = """
[image]
name = "minilm-embeddings"
version = "1.0.0"

[model]
file = "model.onnx"
format = "onnx"

[pipeline]
kind = "sentence-embedding"   # or "tensor"
tokenizer = "vocab.txt"
max_sequence_length = 256
pooling = "mean"
normalize = true

[runtime]
threads = 2
max_batch = 8
max_queue = 64
max_frame_bytes = 4194304

[keys]
release = "owner"             # or "sealed"
"""

/// `fullManifest` with line `number` (1-based) replaced.
func replacingLine(_ number: Int, with text: String, in manifest: String = fullManifest) -> String {
    var lines = manifest.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    lines[number - 1] = text
    return lines.joined(separator: "\n")
}

@Suite struct ManifestTests {
    @Test func parsesTheDesignExample() throws {
        let manifest = try Manifest.parse(fullManifest, sourceName: "manifest.toml")
        #expect(manifest.image.name == "minilm-embeddings")
        #expect(manifest.image.version == "1.0.0")
        #expect(manifest.model.file == "model.onnx")
        #expect(manifest.model.format == .onnx)
        #expect(manifest.pipeline.kind == .sentenceEmbedding)
        #expect(manifest.pipeline.tokenizer == "vocab.txt")
        #expect(manifest.pipeline.maxSequenceLength == 256)
        #expect(manifest.pipeline.pooling == .mean)
        #expect(manifest.pipeline.normalize == true)
        #expect(manifest.runtime == Manifest.Runtime(threads: 2, maxBatch: 8, maxQueue: 64, maxFrameBytes: 4_194_304))
        #expect(manifest.keys.release == .owner)
        #expect(manifest.assets == [ManifestAsset(name: "model.onnx", role: .model),
                                    ManifestAsset(name: "vocab.txt", role: .tokenizer)])
    }

    @Test func minimalManifestGetsDefaults() throws {
        let text = "[image]\nname = \"mlp\"\nversion = \"0.1\"\n[model]\nfile = \"./models/../model.onnx\"\n"
        let manifest = try Manifest.parse(text, sourceName: "m.toml")
        #expect(manifest.model.file == "model.onnx")
        #expect(manifest.model.format == .onnx)
        #expect(manifest.pipeline.kind == .tensor)
        #expect(manifest.pipeline.tokenizer == nil)
        #expect(manifest.runtime == .defaults)
        #expect(manifest.runtime == Manifest.Runtime(threads: 1, maxBatch: 8, maxQueue: 64, maxFrameBytes: 4_194_304))
        #expect(manifest.keys.release == .owner)
        #expect(manifest.assets.count == 1)
    }

    @Test func sealedReleaseAndRangeEdges() throws {
        var text = replacingLine(23, with: "release = \"sealed\"")
        text = replacingLine(17, with: "threads = 64", in: text)
        text = replacingLine(20, with: "max_frame_bytes = 1024", in: text)
        let manifest = try Manifest.parse(text, sourceName: "manifest.toml")
        #expect(manifest.keys.release == .sealed)
        #expect(manifest.runtime.threads == 64)
        #expect(manifest.runtime.maxFrameBytes == 1024)
    }

    /// `seal_to` enters the manifest digest only when given, so that earlier images keep their digests.
    @Test func brokerReleaseAndSealTo() throws {
        let plain = try Manifest.parse(replacingLine(23, with: "release = \"broker\""), sourceName: "manifest.toml")
        #expect(plain.keys == Manifest.Keys(release: .broker))
        #expect(plain.keys.effectiveSealTo == .measurement)
        let signer = try Manifest.parse(replacingLine(23, with: "release = \"broker\"\nseal_to = \"signer\""), sourceName: "manifest.toml")
        #expect(signer.keys == Manifest.Keys(release: .broker, sealTo: .signer))
        let digests = [plain, signer].map { ManifestDigest.compute(manifest: $0, assets: []) }
        #expect(digests[0] != digests[1])
        let canonical = String(decoding: ManifestDigest.canonicalForm(of: plain, assets: []), as: UTF8.self)
        #expect(canonical.contains("\"keys\":{\"release\":\"broker\"}"))
    }

    struct BadLine: Sendable, CustomStringConvertible {
        let line: Int
        let replacement: String
        let code: ManifestError.Code
        let message: String
        var description: String { "line \(line): \(replacement)" }
    }

    static let badLines: [BadLine] = [
        BadLine(line: 17, replacement: "threads = 0", code: .outOfRange, message: "`threads` must be 1…64, got 0"),
        BadLine(line: 17, replacement: "threads = 65", code: .outOfRange, message: "`threads` must be 1…64, got 65"),
        BadLine(line: 17, replacement: "threads = \"2\"", code: .wrongType, message: "`threads` must be an integer, got a string"),
        BadLine(line: 17, replacement: "threads = 2.0", code: .wrongType, message: "`threads` must be an integer, got a floating-point number"),
        BadLine(line: 17, replacement: "thread = 2", code: .unknownKey, message: "unknown key `thread` in [runtime]"),
        BadLine(line: 18, replacement: "max_batch = 1025", code: .outOfRange, message: "`max_batch` must be 1…1024, got 1025"),
        BadLine(line: 19, replacement: "max_queue = 0", code: .outOfRange, message: "`max_queue` must be 1…65536, got 0"),
        BadLine(line: 20, replacement: "max_frame_bytes = 1023", code: .outOfRange, message: "`max_frame_bytes` must be 1024…67108864, got 1023"),
        BadLine(line: 20, replacement: "max_frame_bytes = 67108865", code: .outOfRange, message: "`max_frame_bytes` must be 1024…67108864, got 67108865"),
        BadLine(line: 2, replacement: "name = \"MiniLM\"", code: .invalidValue, message: "`name` must be 1…64 characters of a-z"),
        BadLine(line: 2, replacement: "name = \"\(String(repeating: "a", count: 65))\"", code: .invalidValue, message: "`name` must be 1…64"),
        BadLine(line: 2, replacement: "name = 7", code: .wrongType, message: "`name` must be a string, got an integer"),
        BadLine(line: 3, replacement: "version = \"1 0\"", code: .invalidValue, message: "`version` must be"),
        BadLine(line: 6, replacement: "file = \"/etc/passwd\"", code: .invalidPath, message: "is absolute"),
        BadLine(line: 6, replacement: "file = \"../secret.onnx\"", code: .invalidPath, message: "leaves the manifest's folder"),
        BadLine(line: 6, replacement: "file = \"a/../../secret.onnx\"", code: .invalidPath, message: "leaves the manifest's folder"),
        BadLine(line: 6, replacement: "file = \"\"", code: .invalidPath, message: "is empty"),
        BadLine(line: 7, replacement: "format = \"tflite\"", code: .invalidValue, message: "`format` must be \"onnx\", got \"tflite\""),
        BadLine(line: 10, replacement: "kind = \"llm\"", code: .invalidValue, message: "`kind` must be \"tensor\" or \"sentence-embedding\", got \"llm\""),
        BadLine(line: 11, replacement: "tokenizer = \"../vocab.txt\"", code: .invalidPath, message: "leaves the manifest's folder"),
        BadLine(line: 11, replacement: "tokenizer = \"model.onnx\"", code: .invalidPath, message: "names the model file"),
        BadLine(line: 12, replacement: "max_sequence_length = 1", code: .outOfRange, message: "`max_sequence_length` must be 2…8192, got 1"),
        BadLine(line: 14, replacement: "lowercase = 1", code: .wrongType, message: "`lowercase` must be true or false, got an integer"),
        BadLine(line: 14, replacement: "max_texts = 0", code: .outOfRange, message: "`max_texts` must be 1…1024, got 0"),
        BadLine(line: 14, replacement: "max_text_bytes = 1048577", code: .outOfRange, message: "`max_text_bytes` must be 1…1048576, got 1048577"),
        BadLine(line: 13, replacement: "pooling = \"sum\"", code: .invalidValue, message: "`pooling` must be \"mean\" or \"cls\" or \"max\", got \"sum\""),
        BadLine(line: 14, replacement: "normalize = \"yes\"", code: .wrongType, message: "`normalize` must be true or false, got a string"),
        BadLine(line: 23, replacement: "release = \"escrow\"", code: .invalidValue, message: "`release` must be \"owner\" or \"broker\" or \"sealed\", got \"escrow\""),
        BadLine(line: 23, replacement: "release = \"broker\"\nseal_to = \"machine\"", code: .invalidValue,
                message: "`seal_to` must be \"measurement\" or \"signer\", got \"machine\""),
        BadLine(line: 23, replacement: "relase = \"owner\"", code: .unknownKey, message: "unknown key `relase` in [keys]"),
        BadLine(line: 22, replacement: "[key]", code: .unknownKey, message: "unknown section `key`"),
        BadLine(line: 15, replacement: "[extra]", code: .unknownKey, message: "unknown section `extra`"),
        BadLine(line: 13, replacement: "pooling = ", code: .syntax, message: "invalid TOML"),
        BadLine(line: 18, replacement: "max_batch = 8\nthreads = 3", code: .syntax, message: "invalid TOML"),
        BadLine(line: 4, replacement: "[image", code: .syntax, message: "invalid TOML"),
    ]

    @Test(arguments: badLines)
    func reportsEachErrorWithItsLine(_ bad: BadLine) throws {
        let text = replacingLine(bad.line, with: bad.replacement)
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(text, sourceName: "manifest.toml") }
        #expect(error.code == bad.code)
        // A duplicated key is reported where the duplicate is, one line below the replaced one.
        let expectedLine = bad.replacement.contains("\n") ? bad.line + 1 : bad.line
        #expect(error.line == expectedLine, "\(error)")
        #expect(error.message.contains(bad.message), "\(error)")
        #expect(error.description.hasPrefix("manifest.toml:\(expectedLine): "))
        #expect(!error.description.contains("\n"))
    }

    @Test func theSpecExampleErrorReadsExactly() throws {
        let text = replacingLine(17, with: "threads = 0")
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(text, sourceName: "manifest.toml") }
        #expect(error.description == "manifest.toml:17: `threads` must be 1…64, got 0")
    }

    @Test func missingSectionsAndKeys() throws {
        let noImage = "[model]\nfile = \"m.onnx\"\n"
        let e1 = try #require(throws: ManifestError.self) { try Manifest.parse(noImage, sourceName: "m.toml") }
        #expect(e1.code == .missingKey)
        #expect(e1.message.contains("[image]"))

        let noName = "[image]\nversion = \"1\"\n[model]\nfile = \"m.onnx\"\n"
        let e2 = try #require(throws: ManifestError.self) { try Manifest.parse(noName, sourceName: "m.toml") }
        #expect(e2.code == .missingKey)
        #expect(e2.line == 1)
        #expect(e2.message.contains("`name`"))

        let noTokenizer = replacingLine(11, with: "")
        let e3 = try #require(throws: ManifestError.self) { try Manifest.parse(noTokenizer, sourceName: "m.toml") }
        #expect(e3.code == .missingKey)
        #expect(e3.line == 9)

        let noKind = replacingLine(10, with: "")
        let e4 = try #require(throws: ManifestError.self) { try Manifest.parse(noKind, sourceName: "m.toml") }
        #expect(e4.code == .missingKey)
        #expect(e4.message.contains("`kind`"))
    }

    @Test func textLimitsAndLowercaseParseAndEnterTheDigestOnlyWhenPresent() throws {
        let plain = try Manifest.parse(fullManifest, sourceName: "m.toml")
        #expect(plain.pipeline.lowercase == nil && plain.pipeline.maxTexts == nil && plain.pipeline.maxTextBytes == nil)
        let text = replacingLine(14, with: "normalize = true\nlowercase = false\nmax_texts = 4\nmax_text_bytes = 100")
        let manifest = try Manifest.parse(text, sourceName: "m.toml")
        #expect(manifest.pipeline.lowercase == false)
        #expect(manifest.pipeline.maxTexts == 4)
        #expect(manifest.pipeline.maxTextBytes == 100)
        let form = String(decoding: ManifestDigest.canonicalForm(of: manifest, assets: []), as: UTF8.self)
        #expect(form.contains(#""pipeline":{"kind":"sentence-embedding","lowercase":false,"max_sequence_length":256,"max_text_bytes":100,"max_texts":4,"normalize":true,"pooling":"mean","tokenizer":"vocab.txt"}"#), "\(form)")
        let plainForm = String(decoding: ManifestDigest.canonicalForm(of: plain, assets: []), as: UTF8.self)
        #expect(plainForm.contains(#""pipeline":{"kind":"sentence-embedding","max_sequence_length":256,"normalize":true,"pooling":"mean","tokenizer":"vocab.txt"}"#), "\(plainForm)")
        #expect(ManifestDigest.compute(manifest: manifest, assets: []) != ManifestDigest.compute(manifest: plain, assets: []))
        let tensor = "[image]\nname = \"a\"\nversion = \"1\"\n[model]\nfile = \"m.onnx\"\n[pipeline]\nkind = \"tensor\"\nmax_texts = 2\n"
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(tensor, sourceName: "m.toml") }
        #expect(error.line == 8)
        #expect(error.message.contains("`max_texts` applies only to"))
    }

    @Test func tensorPipelineRejectsTextKeys() throws {
        let text = replacingLine(10, with: "kind = \"tensor\"")
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(text, sourceName: "m.toml") }
        #expect(error.code == .invalidValue)
        #expect(error.line == 11)
        #expect(error.message.contains("`tokenizer` applies only to"))
    }

    @Test func topLevelKeysAndNonTableSectionsAreRejected() throws {
        let stray = "debug = true\n" + fullManifest
        let e1 = try #require(throws: ManifestError.self) { try Manifest.parse(stray, sourceName: "m.toml") }
        #expect(e1.code == .unknownKey)
        #expect(e1.line == 1)

        let flat = "image = \"x\"\n[model]\nfile = \"m.onnx\"\n"
        let e2 = try #require(throws: ManifestError.self) { try Manifest.parse(flat, sourceName: "m.toml") }
        #expect(e2.code == .wrongType)
        #expect(e2.line == 1)
    }

    @Test func dottedKeysAndInlineTablesParse() throws {
        let text = "image = { name = \"a\", version = \"1\" }\nmodel.file = \"m.onnx\"\nruntime.threads = 4\n"
        let manifest = try Manifest.parse(text, sourceName: "m.toml")
        #expect(manifest.image.name == "a")
        #expect(manifest.runtime.threads == 4)
        let bad = "image = { name = \"a\", version = \"1\" }\nmodel.file = \"m.onnx\"\nruntime.threads = 99\n"
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(bad, sourceName: "m.toml") }
        #expect(error.line == 3)
    }

    @Test func nulAndOversizedTextAreRejected() throws {
        let e1 = try #require(throws: ManifestError.self) {
            try Manifest.parse("[image]\nname = \"a\u{0}\"\n", sourceName: "m.toml")
        }
        #expect(e1.code == .syntax)
        #expect(e1.line == 2)
        let huge = "# " + String(repeating: "x", count: Manifest.maxTextBytes) + "\n"
        #expect(throws: ManifestError.self) { try Manifest.parse(huge, sourceName: "m.toml") }
    }
}
