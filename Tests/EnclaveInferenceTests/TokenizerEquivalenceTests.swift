import Foundation
import Testing
@testable import EnclaveInference

/// The byte-level tokenizer (UTF-8 in locked memory, byte-keyed vocabulary) against the `String`-based one it
/// replaced (``ReferenceWordPiece``): the same ids for every text, in every configuration, over a generated
/// corpus that mixes what normalisation can trip on — upper and lower case in many scripts, precomposed and
/// decomposed accents, runs of combining marks in every order, marks that are starters, Hangul syllables and
/// jamo, CJK and CJK compatibility ideographs, controls, Unicode spaces, punctuation, emoji.
@Suite("Byte-level tokenizer = String tokenizer")
struct TokenizerEquivalenceTests {
    /// Scalars the generator draws from (besides ASCII words).
    static let pools: [[UInt32]] = [
        Array(0x41...0x5A) + Array(0x61...0x7A),                       // ASCII letters
        Array(0xC0...0x17F),                                           // Latin-1, Latin Extended-A (precomposed, İ, ß, ĳ)
        Array(0x300...0x36F) + [0x0E31, 0x0E34, 0x034F, 0x05B0, 0x0591, 0x302E, 0x302F, 0x1D165, 0x1D166, 0x1D16D],
        Array(0x391...0x3CE) + [0x1F80, 0x1F82, 0x1FB3, 0x0390],       // Greek (final sigma, iota subscripts)
        Array(0x400...0x45F),                                          // Cyrillic
        [0xAC00, 0xAC01, 0xD55C, 0xAD6D, 0xC5B4, 0x1100, 0x1161, 0x11A8, 0x3131],  // Hangul syllables, jamo
        [0x4E2D, 0x6587, 0x5317, 0x4EAC, 0x3400, 0x20000, 0xF900, 0xF92C, 0x2F800],  // CJK, compatibility ideographs
        [0x00, 0x07, 0x0B, 0x1F, 0x7F, 0x85, 0x200B, 0x200D, 0xFEFF, 0xFFFD, 0xE000, 0x10FFFD],  // controls, format, private
        [0x09, 0x0A, 0x0D, 0x20, 0xA0, 0x2003, 0x3000, 0x1680],        // white space
        Array(0x21...0x2F) + [0x2014, 0x00BF, 0x3002, 0xFF01, 0x00B7, 0x2019, 0x00A7],  // punctuation
        [0x1F600, 0x2603, 0x00B5, 0x212B, 0x2126, 0x1E9E, 0xFB01, 0x0130, 0x0149, 0x01C5],  // symbols, special mappings
    ]

    /// A deterministic corpus: `count` texts of 0…40 pieces (generator seeded, so a failure reproduces).
    static func corpus(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let words = ["the", "Lisinopril", "hyperlipidemia", "CAFÉ", "naïve", "résumé", "unaffable", "Straße", "ΟΔΥΣΣΕΥΣ",
                     "İstanbul", "한국어", "北京", "dollars", "[UNK]", "##s", "wire-transfer", "ﬁnance"]
        return (0..<count).map { _ in
            var text = String.UnicodeScalarView()
            for _ in 0..<next(40) {
                if next(3) == 0 {
                    text.append(contentsOf: words[next(words.count)].unicodeScalars)
                } else {
                    let pool = pools[next(pools.count)]
                    for _ in 0...next(4) { text.append(Unicode.Scalar(pool[next(pool.count)])!) }
                }
            }
            return String(text)
        }
    }

    static let vocabularyText = try! String(contentsOf: TokenizerTests.folder.appendingPathComponent("vocab.txt"), encoding: .utf8)

    @Test(arguments: [(true, true), (false, true), (false, false)])
    func miniLMVocabularyGivesTheSameIDs(lowercase: Bool, splitChinese: Bool) throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabularyText, lowercase: lowercase, splitChineseCharacters: splitChinese)
        let reference = try ReferenceWordPiece(vocabulary: Self.vocabularyText, lowercase: lowercase, splitChineseCharacters: splitChinese)
        var mismatches = 0
        for text in Self.corpus(count: 1500, seed: lowercase ? 1 : 2) {
            let got = tokenizer.tokenIDs(text), want = reference.tokenIDs(text)
            if got != want {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("\(text.unicodeScalars.map { String($0.value, radix: 16) }): \(got) != \(want)")
                }
            }
            #expect(tokenizer.tokenIDs(text, limit: 7) == reference.tokenIDs(text, limit: 7))
        }
        #expect(mismatches == 0)
    }

    /// Lookups compare pieces by canonical equivalence, as the `String`-keyed vocabulary did: precomposed and
    /// decomposed spellings, and Hangul syllables against their jamo, find the same token.
    @Test(arguments: [true, false])
    func vocabularyLookupsAreCanonical(lowercase: Bool) throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "caf\u{E9}", "##\u{E9}", "\u{D55C}", "##\u{AD6D}", "e\u{301}t\u{E9}",
                          "a\u{327}\u{301}", "x", "##y", "\u{1E69}"].joined(separator: "\n")
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary, lowercase: lowercase)
        let reference = try ReferenceWordPiece(vocabulary: vocabulary, lowercase: lowercase)
        let texts = ["cafe\u{301}", "caf\u{E9}", "\u{1112}\u{1161}\u{11AB}", "\u{D55C}\u{AD6D}", "\u{E9}t\u{E9}", "e\u{301}te\u{301}",
                     "a\u{301}\u{327}", "a\u{327}\u{301}", "xy\u{301}", "s\u{323}\u{307}", "s\u{307}\u{323}", "\u{1E69}", "xe\u{301}"]
        for text in texts {
            #expect(tokenizer.tokenIDs(text) == reference.tokenIDs(text), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        if !lowercase { #expect(tokenizer.tokenIDs("cafe\u{301}") == [4]) }
        #expect(tokenizer.vocabularySize == 13)
    }

    @Test func canonicallyEquivalentTokensAreDuplicates() {
        let error = inferenceError { try WordPieceTokenizer(vocabulary: "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\u{E9}\ncafe\u{301}\n") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("vocab.txt line 6") == true, "\(error?.message ?? "")")
    }

    /// Bytes that are not UTF-8 are read as the `String` that replaces them with U+FFFD, which the cleaner drops.
    @Test func illFormedBytesAreDroppedLikeReplacementCharacters() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabularyText)
        let inputs: [[UInt8]] = [[0x68, 0x65, 0xFF, 0x6C, 0x6C, 0x6F], [0xE0, 0x80, 0x41], [0xF0, 0x9F, 0x98, 0x41, 0x42],
                                 [0xED, 0xA0, 0x80, 0x61], [0xC0, 0xAF, 0x62], [0xF4, 0x90, 0x80, 0x80, 0x63], [0xCE]]
        for bytes in inputs {
            let batch = TextBatch(bytes: TensorBytes(bytes).secureBytes, ranges: [0..<bytes.count])
            let got = tokenizer.encodeBatch(batch, maxLength: 32).inputIDs
            let want = tokenizer.encodeBatch([String(decoding: bytes, as: UTF8.self)], maxLength: 32).inputIDs
            #expect(got == want, "\(bytes)")
        }
        #expect([UInt8]([0x61, 0xE2, 0x82]).withUnsafeBytes { UTF8Scalars.firstIllFormedOffset($0) } == 1)
        #expect(Array("héllo 北京 😀".utf8).withUnsafeBytes { UTF8Scalars.firstIllFormedOffset($0) } == nil)
    }

    /// Scratch for a text's ids is sized by the text (at most 8 ids per byte), not by `max_sequence_length`:
    /// 1024 one-byte texts lock 8 ids each, not 8190.
    @Test func idScratchFollowsTheTextLength() throws {
        #expect(WordPieceTokenizer.idCapacity(bytes: 1, limit: 8190) == 8)
        #expect(WordPieceTokenizer.idCapacity(bytes: 10_000, limit: 254) == 254)
        #expect(WordPieceTokenizer.idCapacity(bytes: .max, limit: 5) == 5)
        #expect(WordPieceTokenizer.idCapacity(bytes: 3, limit: -1) == 0)
        // Eight ids from one byte's worth of scalars is reachable: U+0130 lower-cases to i + U+0307, and
        // punctuation gives one id per scalar; the batch still matches the reference.
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabularyText)
        let texts = ["!", "a", "\u{130}", "?!?!", ".", "\u{1F82}\u{1F82}"]
        let batch = tokenizer.encodeBatch(texts, maxLength: 64)
        let reference = try ReferenceWordPiece(vocabulary: Self.vocabularyText)
        let width = batch.sequenceLength
        for (row, text) in texts.enumerated() {
            let want = reference.encode(text, maxLength: 64)
            #expect(Array(batch.inputIDs[(row * width)..<(row * width + want.count)]) == want.map(Int64.init))
        }
    }

    /// The batch the model sees is built in locked memory from texts in locked memory.
    @Test func batchTensorsAreSecretMemory() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: Self.vocabularyText)
        let batch = tokenizer.encodeBatch(["hello world", "a"], maxLength: 16)
        for tensor in batch.tensors.values { #expect(tensor.data.secureBytes.memoryProtection == .all) }
        #expect(batch.attentionMask == [1, 1, 1, 1, 1, 1, 1, 0])
    }
}
