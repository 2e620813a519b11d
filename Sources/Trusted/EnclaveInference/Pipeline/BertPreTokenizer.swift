import Foundation

/// BERT's "basic tokenizer": cleans the text (drops NUL, U+FFFD and control characters, turns every kind of
/// white space into a space), puts spaces around CJK ideographs, lower-cases and strips accents (NFD, then
/// drops non-spacing marks), splits on white space and makes every punctuation character a word of its own.
///
/// Works on Unicode scalars (code points), as the Hugging Face tokenizers do, not on grapheme clusters.
struct BertPreTokenizer: Sendable {
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
