import Foundation
import Testing
@testable import EnclaveInference
import EnclavaTesting

/// The WordPiece tokenizer against the Hugging Face tokenizer of all-MiniLM-L6-v2
/// (`../shared/models/all-MiniLM-L6-v2/golden/tokenization.json`), and its normalisation rules.
@Suite("WordPiece tokenizer")
struct TokenizerTests {
    struct Golden: Decodable {
        let texts: [String]
        let input_ids: [[Int64]]
        let attention_mask: [[Int64]]
    }

    static let folder = TestPaths.models.appendingPathComponent("all-MiniLM-L6-v2")

    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabulary: String(contentsOf: folder.appendingPathComponent("vocab.txt"), encoding: .utf8))
    }

    @Test func reproducesTheHuggingFaceBatchExactly() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.folder.appendingPathComponent("golden/tokenization.json")))
        let batch = try Self.tokenizer().encodeBatch(golden.texts, maxLength: 256)
        #expect(batch.batchSize == golden.texts.count)
        #expect(batch.sequenceLength == golden.input_ids[0].count)
        #expect(batch.inputIDs == golden.input_ids.flatMap { $0 })
        #expect(batch.attentionMask == golden.attention_mask.flatMap { $0 })
        #expect(batch.tokenTypeIDs.allSatisfy { $0 == 0 })
    }

    @Test func accentsCaseAndWhitespaceAreNormalised() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenIDs("Héllo  WÖRLD") == t.tokenIDs("hello world"))
        #expect(t.tokenIDs("cafe\u{0301}\tnaïve\r\nrésumé") == t.tokenIDs("cafe naive resume"))
        #expect(t.tokenIDs("a\u{00A0}b\u{2003}c") == t.tokenIDs("a b c"))   // Zs spaces split words
    }

    @Test func controlCharactersAreDropped() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenIDs("hel\u{0000}lo\u{200B}\u{0007}\u{FFFD}") == t.tokenIDs("hello"))
    }

    @Test func punctuationAndCJKAreSplit() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenIDs("end.start") == t.tokenIDs("end . start"))
        #expect(t.tokenIDs("a—b") == t.tokenIDs("a — b"))
        #expect(t.tokenIDs("$5") == t.tokenIDs("$ 5"))
        #expect(t.tokenIDs("中文") == t.tokenIDs("中 文"))
        #expect(t.tokenIDs("中文").count == 2)
    }

    @Test func unknownAndOverlongWordsBecomeUNK() throws {
        let t = try Self.tokenizer()
        #expect(t.tokenIDs("☃") == [t.unknownID])
        #expect(t.tokenIDs(String(repeating: "a", count: 101)) == [t.unknownID])
        #expect(t.tokenIDs(String(repeating: "a", count: 100)) != [t.unknownID])
        #expect(t.tokenIDs("") == [])
    }

    @Test func wordPiecesContinueWithHashes() throws {
        // From the golden batch: "lisinopril" → li ##sin ##op ##ril.
        let t = try Self.tokenizer()
        #expect(t.tokenIDs("lisinopril") == [5622, 11493, 7361, 15928])
    }

    @Test func truncationKeepsClsAndSep() throws {
        let t = try Self.tokenizer()
        let long = Array(repeating: "word", count: 300).joined(separator: " ")
        let ids = t.encode(long, maxLength: 16)
        #expect(ids.count == 16)
        #expect(ids.first == t.classifierID && ids.last == t.separatorID)
        let batch = t.encodeBatch([long, "short"], maxLength: 16)
        #expect(batch.sequenceLength == 16)
        #expect(batch.attentionMask[16..<32].filter { $0 == 1 }.count == 3)
        #expect(batch.inputIDs[19..<32].allSatisfy { $0 == Int64(t.paddingID) })
    }

    /// Tokenizing stops at the limit: the first `limit` ids equal the whole text's first `limit`, cut anywhere,
    /// including inside a word that splits into several pieces.
    @Test(arguments: [0, 1, 2, 3, 5, 8, 13, 40])
    func limitedTokenizationIsAPrefixOfTheWhole(limit: Int) throws {
        let t = try Self.tokenizer()
        let text = "Lisinopril, 10 mg — taken daily; CAFÉ naïve 北京 résumé!! hyperlipidemia (unchanged)."
        let whole = t.tokenIDs(text)
        #expect(whole.count > 13)
        #expect(t.tokenIDs(text, limit: limit) == Array(whole.prefix(limit)))
        #expect(t.encode(text, maxLength: limit + 2) == [t.classifierID] + whole.prefix(limit) + [t.separatorID])
    }

    /// The pre-tokenizer hands out words lazily: a caller that stops after three words is given three, not the
    /// million words of the text (the tokenizer relies on this to stop at `max_sequence_length`).
    @Test func preTokenizerStopsWhenAsked() throws {
        let pre = BertPreTokenizer(lowercase: true, stripAccents: true, splitChineseCharacters: true)
        let text = String(repeating: "Word, 北 ", count: 250_000)
        let (given, seen) = Self.words(pre, text, stopAfter: 3)
        #expect(given == 3)
        #expect(seen.map { String(String.UnicodeScalarView($0)) } == ["word", ",", "北"])
        #expect(Self.words(pre, "Hello, 北京 Wörld").words == ["hello", ",", "北", "京", "world"].map { Array($0.unicodeScalars) })
    }

    /// The words `pre` gives for `text` (each as its stored scalars), up to `stopAfter` of them.
    static func words(_ pre: BertPreTokenizer, _ text: String, stopAfter: Int = .max) -> (given: Int, words: [[Unicode.Scalar]]) {
        var scratch = TensorBytes(count: TokenizerWorkspace.byteCount(maxCharactersPerWord: 100))
        var text = text
        return scratch.withUnsafeMutableBytes { raw in
            let workspace = TokenizerWorkspace(carving: raw, maxCharactersPerWord: 100)
            var seen: [[Unicode.Scalar]] = []
            let given = text.withUTF8 { utf8 in
                pre.forEachWord(utf8: UnsafeRawBufferPointer(utf8), in: workspace) { word in
                    seen.append(word.scalars.map { Unicode.Scalar($0)! })
                    return seen.count < stopAfter
                }
            }
            return (given, seen)
        }
    }

    @Test func vocabularyWithoutSpecialTokensIsRefused() {
        let error = inferenceError { try WordPieceTokenizer(vocabulary: "[PAD]\nhello\n") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("[UNK]") == true)
    }
}

/// The sentence-embedding pipeline against golden embeddings (EnclavaTesting/MiniLMGolden.swift).
@Suite("Sentence embeddings")
struct SentenceEmbeddingTests {
    @Test func embeddingsMatchSentenceTransformers() throws {
        let golden = try JSONDecoder().decode(TokenizerTests.Golden.self,
                                              from: Data(contentsOf: TokenizerTests.folder.appendingPathComponent("golden/tokenization.json")))
        let pipeline = try SentenceEmbeddingPipeline(model: TransformerGoldenTests.models.model("all-MiniLM-L6-v2"),
                                                     tokenizer: TokenizerTests.tokenizer(), maxSequenceLength: 256)
        let embeddings = try pipeline.embed(golden.texts)
        #expect(embeddings.shape == MiniLMGolden.shape)
        let values = try #require(embeddings.float32Values)
        let error = maxAbsError(values, MiniLMGolden.values)
        print("sentence embeddings: max abs error \(error)")
        #expect(error <= 1e-5)
        for row in 0..<3 {
            let norm = (0..<384).map { values[row * 384 + $0] * values[row * 384 + $0] }.reduce(0, +).squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        // Padding does not change an embedding: each text alone gives the same vector.
        let alone = try #require(try pipeline.embed([golden.texts[1]]).float32Values)
        #expect(maxAbsError(alone, Array(values[384..<768])) <= 1e-5)
    }

    /// The runtime's load-time check (the same one `enclava package` runs): MiniLM's 512 position embeddings
    /// bound max_sequence_length, and the error names the longest length that works.
    @Test func sequenceLengthIsCheckedAgainstTheModel() throws {
        let model = try TransformerGoldenTests.models.model("all-MiniLM-L6-v2")
        try SentenceEmbeddingPipeline(model: model, tokenizer: TokenizerTests.tokenizer(), maxSequenceLength: 512)
            .checkSequenceLength()
        let tooLong = try SentenceEmbeddingPipeline(model: model, tokenizer: TokenizerTests.tokenizer(), maxSequenceLength: 700)
        let error = inferenceError { try tooLong.checkSequenceLength() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("max_sequence_length = 700 is more than this model takes") == true)
        #expect(error?.message.contains("at most 512") == true, "\(error?.message ?? "")")
    }

    @Test func emptyAndOversizedBatchesAreRefused() throws {
        let pipeline = try SentenceEmbeddingPipeline(model: TransformerGoldenTests.models.model("all-MiniLM-L6-v2"),
                                                     tokenizer: TokenizerTests.tokenizer(), maxBatch: 2)
        #expect(inferenceError { try pipeline.embed([]) }?.code == .invalidArgument)
        #expect(inferenceError { try pipeline.embed(["a", "b", "c"]) }?.code == .invalidArgument)
    }
}
