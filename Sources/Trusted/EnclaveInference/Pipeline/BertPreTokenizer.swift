import EnclavaCrypto

/// BERT's "basic tokenizer": cleans the text (drops NUL, U+FFFD and control characters, turns every kind of
/// white space into a space), puts spaces around CJK ideographs, lower-cases and strips accents (NFD, then
/// drops non-spacing marks), splits on white space and makes every punctuation character a word of its own.
///
/// Works on Unicode scalars (code points) decoded straight from UTF-8 bytes, as the Hugging Face tokenizers
/// do, not on grapheme clusters, and never makes a `String` of the text: a request's text stays in its locked
/// buffer and each word is assembled in the caller's locked ``TokenizerWorkspace`` (DESIGN.md §5).
struct BertPreTokenizer: Sendable {
    let lowercase: Bool
    let stripAccents: Bool
    let splitChineseCharacters: Bool

    /// Calls `body` with each word of the UTF-8 `text` in order until it returns false, and returns how many
    /// words it was given. Words are normalised one scalar at a time as they are reached, so a caller that
    /// needs the first few words (the tokenizer stops at `max_sequence_length` tokens) does no work on the
    /// rest of a long text. This gives the words that normalising whole white-space-separated chunks would:
    /// lower-casing and decomposition act on each scalar alone, and canonical ordering never moves a
    /// starter, which every white-space, punctuation and CJK character is. Ill-formed UTF-8 is dropped like
    /// U+FFFD.
    @discardableResult
    func forEachWord(utf8 text: UnsafeRawBufferPointer, in workspace: TokenizerWorkspace,
                     _ body: (NormalizedWord) -> Bool) -> Int {
        var state = WordAssembly(workspace: workspace, reorders: stripAccents)
        var index = 0
        while index < text.count {
            let (scalar, next) = UTF8Scalars.decode(text, at: index)
            index = next
            if scalar < 0x80 {
                switch scalar {
                case 0x20, 0x09, 0x0A, 0x0D:
                    guard state.endWord(body) else { return state.given }
                case 0x00..<0x20, 0x7F:
                    continue
                default:
                    guard normalize(scalar, into: &state, body) else { return state.given }
                }
                continue
            }
            guard scalar != 0xFFFD, let value = Unicode.Scalar(scalar), !Self.isControl(value) else { continue }
            if Self.isWhitespace(value) {
                guard state.endWord(body) else { return state.given }
            } else if splitChineseCharacters && Self.isCJK(scalar) {
                guard state.endWord(body), normalize(scalar, into: &state, body), state.endWord(body) else { return state.given }
            } else {
                guard normalize(scalar, into: &state, body) else { return state.given }
            }
        }
        _ = state.endWord(body)
        return state.given
    }

    /// Lower case and accents, as configured, for one scalar of the text; false once `body` asked to stop.
    @inline(__always)
    private func normalize(_ scalar: UInt32, into state: inout WordAssembly, _ body: (NormalizedWord) -> Bool) -> Bool {
        if scalar < 0x80 {
            // ASCII: its own NFD, never a mark.
            return state.push(lowercase && scalar >= 0x41 && scalar <= 0x5A ? scalar | 0x20 : scalar, body)
        }
        var going = true
        func decomposed(_ scalar: UInt32) {
            guard stripAccents else {
                if going { going = state.push(scalar, body) }
                return
            }
            ScalarNormalization.decompose(scalar) { part in
                guard going else { return }
                if ScalarNormalization.isNonspacingMark(part) {
                    // Dropped; a mark that is a starter still ends the run canonical ordering sorts.
                    if ScalarNormalization.combiningClass(part) == 0 { state.barrier() }
                } else {
                    going = state.push(part, body)
                }
            }
        }
        if lowercase {
            ScalarNormalization.lowercase(scalar) { decomposed($0) }
        } else {
            decomposed(scalar)
        }
        return going
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

/// The word being assembled from normalised scalars, in the workspace.
private struct WordAssembly {
    let buffer: UnsafeMutablePointer<UInt32>
    let capacity: Int
    /// Canonical ordering applies (the scalars come out of NFD).
    let reorders: Bool
    /// Scalars in the word; the first `min(count, capacity)` are stored.
    var count = 0
    var stored = 0
    /// Where the current run of non-starters begins (canonical ordering never moves a scalar before it).
    var runStart = 0
    var isCanonical = true
    /// Words handed out so far.
    var given = 0

    init(workspace: TokenizerWorkspace, reorders: Bool) {
        buffer = workspace.word
        capacity = workspace.wordCapacity
        self.reorders = reorders
    }

    /// Adds a normalised scalar: white space ends the word, punctuation ends it and is a word of its own,
    /// anything else joins it. False once `body` asked to stop.
    @inline(__always)
    mutating func push(_ scalar: UInt32, _ body: (NormalizedWord) -> Bool) -> Bool {
        if scalar < 0x80 {
            switch scalar {
            case 0x20, 0x09, 0x0A, 0x0D:
                return endWord(body)
            case 33...47, 58...64, 91...96, 123...126:
                guard endWord(body) else { return false }
                append(scalar)
                return endWord(body)
            default:
                append(scalar)
                return true
            }
        }
        let value = Unicode.Scalar(scalar)!
        if BertPreTokenizer.isPunctuation(value) {
            guard endWord(body) else { return false }
            append(scalar)
            return endWord(body)
        }
        if BertPreTokenizer.isWhitespace(value) { return endWord(body) }
        append(scalar)
        return true
    }

    @inline(__always)
    private mutating func append(_ scalar: UInt32) {
        count += 1
        if scalar < 0x80 {
            guard stored < capacity else { return }
            buffer[stored] = scalar
            stored += 1
            runStart = stored
            return
        }
        let combiningClass = ScalarNormalization.combiningClass(scalar)
        if isCanonical {
            isCanonical = reorders ? combiningClass == 0 : ScalarNormalization.isCanonicalStarter(scalar)
        }
        guard stored < capacity else { return }
        if reorders {
            ScalarNormalization.insertCanonically(scalar, combiningClass: combiningClass, into: buffer,
                                                  count: &stored, runStart: &runStart)
        } else {
            buffer[stored] = scalar
            stored += 1
        }
    }

    /// A dropped starter: the next non-starter begins a new run.
    mutating func barrier() { runStart = stored }

    /// Hands out the word, if there is one, and starts the next; false when `body` asked to stop.
    @inline(__always)
    mutating func endWord(_ body: (NormalizedWord) -> Bool) -> Bool {
        guard count > 0 else { return true }
        given += 1
        let word = NormalizedWord(scalars: UnsafeBufferPointer(start: buffer, count: stored), count: count,
                                  isCanonical: isCanonical)
        let going = body(word)
        count = 0
        stored = 0
        runStart = 0
        isCanonical = true
        return going
    }
}
