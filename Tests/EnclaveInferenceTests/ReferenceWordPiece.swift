import Foundation
@testable import EnclaveInference

/// The String-based tokenizer this module had before it worked on bytes in locked memory (git history:
/// `Sources/Trusted/EnclaveInference/Pipeline/{BertPreTokenizer,WordPieceTokenizer}.swift` before the change),
/// kept as the reference the byte-level tokenizer must reproduce id for id.
struct ReferenceBertPreTokenizer: Sendable {
    let lowercase: Bool
    let stripAccents: Bool
    let splitChineseCharacters: Bool

    /// The words of `text`, each as its scalars.
    func words(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        forEachWord(in: text) { words.append($0); return true }
        return words
    }

    /// Calls `body` with each word of `text` in order until it returns false, and returns how many words it
    /// was given. The text is cut into chunks at white space and around CJK ideographs and each chunk is
    /// normalised only when reached, so a caller that needs the first few words (the tokenizer stops at
    /// `max_sequence_length` tokens) does no work on the rest of a long text. Chunk by chunk gives the same
    /// words as the whole text at once: lower-casing and canonical decomposition never act across white space.
    @discardableResult
    func forEachWord(in text: String, _ body: ([Unicode.Scalar]) -> Bool) -> Int {
        var given = 0
        var chunk = String.UnicodeScalarView()
        // Normalises one chunk and hands out its words; false once `body` asked to stop.
        func flush() -> Bool {
            guard !chunk.isEmpty else { return true }
            defer { chunk = String.UnicodeScalarView() }
            var current: [Unicode.Scalar] = []
            for scalar in normalize(chunk).unicodeScalars {
                if Self.isWhitespace(scalar) || Self.isPunctuation(scalar) {
                    if !current.isEmpty {
                        given += 1
                        guard body(current) else { return false }
                        current = []
                    }
                    if Self.isPunctuation(scalar) {
                        given += 1
                        guard body([scalar]) else { return false }
                    }
                } else {
                    current.append(scalar)
                }
            }
            if !current.isEmpty {
                given += 1
                return body(current)
            }
            return true
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                guard flush() else { return given }
            } else if splitChineseCharacters && Self.isCJK(value) {
                guard flush() else { return given }
                chunk.append(scalar)
                guard flush() else { return given }
            } else {
                chunk.append(scalar)
            }
        }
        _ = flush()
        return given
    }

    /// Lower case and accents, as configured, for one chunk of text without white space.
    private func normalize(_ chunk: String.UnicodeScalarView) -> String {
        var normalized = String(chunk)
        if lowercase { normalized = normalized.lowercased() }
        guard stripAccents else { return normalized }
        var kept = String.UnicodeScalarView()
        for scalar in normalized.decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            kept.append(scalar)
        }
        return String(kept)
    }

    /// Space, tab, newline, carriage return and the Unicode space separators (Zs).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r": return true
        default: return scalar.properties.generalCategory == .spaceSeparator
        }
    }

    /// Control and format characters (categories C*), except tab, newline and carriage return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned: return true
            default: return false
            }
        }
    }

    /// ASCII symbols BERT treats as punctuation, and the Unicode punctuation categories (P*).
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

struct ReferenceWordPiece: Sendable {
    private let vocabulary: [String: Int32]
    private let preTokenizer: ReferenceBertPreTokenizer
    /// Words with more Unicode scalars than this become `[UNK]`.
    let maxCharactersPerWord: Int
    /// Ids of the special tokens.
    let unknownID: Int32, classifierID: Int32, separatorID: Int32, paddingID: Int32
    /// Number of entries in the vocabulary.
    var vocabularySize: Int { vocabulary.count }

    /// Builds a tokenizer from the text of a `vocab.txt` (one token per line; the line number is the id).
    /// - Parameters:
    ///   - lowercase: lower-case the text (uncased checkpoints).
    ///   - stripAccents: drop accents; nil follows `lowercase`, as Hugging Face does.
    ///   - splitChineseCharacters: put spaces around CJK ideographs.
    /// - Throws: ``InferenceError`` `invalidArgument` when the vocabulary lacks `[UNK]`, `[CLS]`, `[SEP]` or
    ///   `[PAD]`, or repeats a token.
    init(vocabulary text: String, lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true,
                maxCharactersPerWord: Int = 100) throws {
        var vocabulary: [String: Int32] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count < Int(Int32.max) else { throw InferenceError(.invalidArgument, "the vocabulary is too large") }
        for (index, line) in lines.enumerated() {
            let token = String(line)
            guard vocabulary[token] == nil else {
                throw InferenceError(.invalidArgument, "vocab.txt line \(index + 1): token '\(token)' appears twice")
            }
            vocabulary[token] = Int32(index)
        }
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw InferenceError(.invalidArgument, "vocab.txt has no \(token) token; use the checkpoint's own vocab.txt")
            }
            return id
        }
        self.unknownID = try special("[UNK]")
        self.classifierID = try special("[CLS]")
        self.separatorID = try special("[SEP]")
        self.paddingID = try special("[PAD]")
        self.vocabulary = vocabulary
        self.maxCharactersPerWord = maxCharactersPerWord
        self.preTokenizer = ReferenceBertPreTokenizer(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                                             splitChineseCharacters: splitChineseCharacters)
    }

    /// The token ids of `text`, without special tokens: all of them, or the first `limit`. With a limit the
    /// tokenizer stops reading the text once it has that many tokens, so the work done for a text is bounded by
    /// `max_sequence_length`, not by the text's length.
    func tokenIDs(_ text: String, limit: Int = .max) -> [Int32] {
        var ids: [Int32] = []
        guard limit > 0 else { return ids }
        preTokenizer.forEachWord(in: text) { word in
            pieces(of: word, into: &ids)
            return ids.count < limit
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        return ids
    }

    /// Greedy longest-match-first segmentation of one word.
    private func pieces(of word: [Unicode.Scalar], into ids: inout [Int32]) {
        guard word.count <= maxCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        var found: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var match: Int32?
            while start < end {
                var piece = String(String.UnicodeScalarView(word[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocabulary[piece] {
                    match = id
                    break
                }
                end -= 1
            }
            guard let match else {
                ids.append(unknownID)
                return
            }
            found.append(match)
            start = end
        }
        ids.append(contentsOf: found)
    }

    /// `[CLS]` + ids + `[SEP]`, truncated so that the whole is at most `maxLength` tokens (≥ 2).
    func encode(_ text: String, maxLength: Int) -> [Int32] {
        let body = tokenIDs(text, limit: max(maxLength - 2, 0))
        return [classifierID] + body + [separatorID]
    }
}
