import EnclavaCrypto

/// The BERT WordPiece tokenizer (uncased checkpoints such as all-MiniLM-L6-v2), inside the enclave:
/// ``BertPreTokenizer`` words, then greedy longest-match-first word pieces (`##` marks a continuation);
/// a word longer than ``maxCharactersPerWord`` or with no segmentation becomes `[UNK]`.
///
/// ``encodeBatch(_:maxLength:)-(TextBatch,_)`` tokenizes a request's texts where they lie, as UTF-8 bytes in
/// locked memory, into a ``TokenizedBatch`` whose int64 tensors are locked memory too: every intermediate
/// (the word being assembled, the piece being looked up, the ids) lives in one locked scratch block that is
/// zeroized when the call returns, and vocabulary lookups are keyed by bytes, so no `String` or ordinary
/// array of the text or its ids is made (DESIGN.md §5). The `String` conveniences (``tokenIDs(_:limit:)``,
/// ``encode(_:maxLength:)``) return ordinary arrays: for tests and tools, never for request text.
///
/// Each text gets `[CLS]` … `[SEP]` and is truncated to `maxLength` tokens in all (the tokenizer stops
/// reading it there); a batch is padded to its longest sequence with `[PAD]`, an attention mask and zero
/// token types — the same ids the Hugging Face `BertTokenizer` gives.
public struct WordPieceTokenizer: Sendable {
    private let vocabulary: VocabularyTable
    private let preTokenizer: BertPreTokenizer
    /// Words with more Unicode scalars than this become `[UNK]`.
    public let maxCharactersPerWord: Int
    /// Ids of the special tokens.
    public let unknownID: Int32, classifierID: Int32, separatorID: Int32, paddingID: Int32
    /// Number of entries in the vocabulary.
    public var vocabularySize: Int { vocabulary.count }

    /// Builds a tokenizer from the text of a `vocab.txt` (one token per line; the line number is the id).
    /// - Parameters:
    ///   - lowercase: lower-case the text (uncased checkpoints).
    ///   - stripAccents: drop accents; nil follows `lowercase`, as Hugging Face does.
    ///   - splitChineseCharacters: put spaces around CJK ideographs.
    ///   - maxCharactersPerWord: 1…1000.
    /// - Throws: ``InferenceError`` `invalidArgument` when the vocabulary lacks `[UNK]`, `[CLS]`, `[SEP]` or
    ///   `[PAD]`, or repeats a token.
    public init(vocabulary text: String, lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true,
                maxCharactersPerWord: Int = 100) throws {
        guard (1...1000).contains(maxCharactersPerWord) else {
            throw InferenceError(.invalidArgument, "maxCharactersPerWord must be 1…1000, got \(maxCharactersPerWord)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count < Int(Int32.max) else { throw InferenceError(.invalidArgument, "the vocabulary is too large") }
        let vocabulary = try VocabularyTable(tokens: lines)
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary.id(of: token) else {
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
        self.preTokenizer = BertPreTokenizer(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                                             splitChineseCharacters: splitChineseCharacters)
    }

    /// Encodes and pads a batch of texts: `[CLS]` + the first `maxLength - 2` token ids of each text + `[SEP]`,
    /// padded to the longest. The texts are read in place and the result is locked memory.
    public func encodeBatch(_ texts: TextBatch, maxLength: Int) -> TokenizedBatch {
        let rows = texts.count
        let limit = max(maxLength - 2, 0)
        // Each text's ids go to its own stretch of the scratch, as long as it can need: a batch of many short
        // texts must not lock `rows × max_sequence_length` ids.
        var starts: [Int] = [0]
        starts.reserveCapacity(rows + 1)
        for index in 0..<rows { starts.append(starts[index] + Self.idCapacity(bytes: texts.byteCount(at: index), limit: limit)) }
        let workspaceBytes = TokenizerWorkspace.byteCount(maxCharactersPerWord: maxCharactersPerWord)
        var scratch = SecureBytes(count: workspaceBytes + (starts[rows] + rows) * 4)
        return scratch.withUnsafeMutableBytes { raw in
            let workspace = TokenizerWorkspace(carving: raw, maxCharactersPerWord: maxCharactersPerWord)
            let bodies = (raw.baseAddress! + workspaceBytes).bindMemory(to: Int32.self, capacity: starts[rows] + rows)
            let counts = bodies + starts[rows]
            var longest = 0
            texts.forEachText { index, text in
                let count = tokenize(utf8: text, limit: starts[index + 1] - starts[index], workspace: workspace,
                                     into: bodies + starts[index])
                counts[index] = Int32(count)
                longest = max(longest, count + 2)
            }
            var ids = TensorBytes(count: rows * longest * 8)
            var mask = TensorBytes(count: rows * longest * 8)
            ids.withUnsafeMutableBytes { ids in
                mask.withUnsafeMutableBytes { mask in
                    func put(_ value: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ index: Int) {
                        buffer.storeBytes(of: Int64(value).littleEndian, toByteOffset: index * 8, as: Int64.self)
                    }
                    for row in 0..<rows {
                        let count = Int(counts[row])
                        let start = row * longest
                        put(classifierID, ids, start)
                        for index in 0..<count { put(bodies[starts[row] + index], ids, start + 1 + index) }
                        put(separatorID, ids, start + 1 + count)
                        for index in (count + 2)..<longest { put(paddingID, ids, start + index) }
                        for index in 0..<(count + 2) { put(1, mask, start + index) }
                    }
                }
            }
            return TokenizedBatch(batchSize: rows, sequenceLength: longest, inputIDs: ids, attentionMask: mask,
                                  tokenTypeIDs: TensorBytes(count: rows * longest * 8))
        }
    }

    /// Encodes and pads a batch of `String`s (tests and tools: the texts are copied into locked memory first).
    public func encodeBatch(_ texts: [String], maxLength: Int) -> TokenizedBatch {
        encodeBatch(TextBatch(copying: texts), maxLength: maxLength)
    }

    /// The token ids of `text`, without special tokens: all of them, or the first `limit`. With a limit the
    /// tokenizer stops reading the text once it has that many tokens, so the work done for a text is bounded by
    /// `max_sequence_length`, not by the text's length. An ordinary array: for tests and tools.
    public func tokenIDs(_ text: String, limit: Int = .max) -> [Int32] {
        var text = text
        return text.withUTF8 { utf8 in
            let capacity = Self.idCapacity(bytes: utf8.count, limit: limit)
            let workspaceBytes = TokenizerWorkspace.byteCount(maxCharactersPerWord: maxCharactersPerWord)
            var scratch = SecureBytes(count: workspaceBytes + capacity * 4)
            return scratch.withUnsafeMutableBytes { raw in
                let workspace = TokenizerWorkspace(carving: raw, maxCharactersPerWord: maxCharactersPerWord)
                let output = (raw.baseAddress! + workspaceBytes).bindMemory(to: Int32.self, capacity: capacity)
                let count = tokenize(utf8: UnsafeRawBufferPointer(utf8), limit: capacity, workspace: workspace, into: output)
                return Array(UnsafeBufferPointer(start: output, count: count))
            }
        }
    }

    /// `[CLS]` + ids + `[SEP]`, truncated so that the whole is at most `maxLength` tokens (≥ 2). An ordinary
    /// array: for tests and tools.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        [classifierID] + tokenIDs(text, limit: max(maxLength - 2, 0)) + [separatorID]
    }

    /// The most ids `bytes` bytes of UTF-8 can give, up to `limit`: each byte starts at most one scalar, which
    /// lower-cases to at most two and decomposes to at most four each, and every id takes at least one of them.
    static func idCapacity(bytes: Int, limit: Int) -> Int {
        min(max(limit, 0), bytes.multipliedReportingOverflow(by: 8).overflow ? Int.max : bytes * 8)
    }

    /// Writes the first `limit` token ids of the UTF-8 `text` to `output` and returns how many there are.
    func tokenize(utf8 text: UnsafeRawBufferPointer, limit: Int, workspace: TokenizerWorkspace,
                  into output: UnsafeMutablePointer<Int32>) -> Int {
        guard limit > 0 else { return 0 }
        var written = 0
        preTokenizer.forEachWord(utf8: text, in: workspace) { word in
            let found = pieces(of: word, workspace: workspace)
            let taken = min(found, limit - written)
            (output + written).update(from: workspace.pieces, count: taken)
            written += taken
            return written < limit
        }
        return written
    }

    /// Greedy longest-match-first segmentation of one word into `workspace.pieces`; returns the count.
    private func pieces(of word: NormalizedWord, workspace: TokenizerWorkspace) -> Int {
        // A word within the limit is stored whole (the workspace holds one scalar more than the limit).
        guard word.count <= maxCharactersPerWord else {
            workspace.pieces[0] = unknownID
            return 1
        }
        var found = 0
        var start = 0
        while start < word.count {
            var end = word.count
            var match: Int32?
            while start < end {
                let continuation = start > 0
                // A key of fewer scalars cannot match: canonical decomposition never shortens a piece.
                if end - start + (continuation ? 2 : 0) <= vocabulary.maxKeyScalars,
                   let id = lookup(UnsafeBufferPointer(rebasing: word.scalars[start..<end]), continuation: continuation,
                                   isCanonical: word.isCanonical, workspace: workspace) {
                    match = id
                    break
                }
                end -= 1
            }
            guard let match else {
                workspace.pieces[0] = unknownID
                return 1
            }
            workspace.pieces[found] = match
            found += 1
            start = end
        }
        return found
    }

    /// The id of one piece, compared by canonical equivalence (as the `String`-keyed vocabulary did).
    @inline(__always)
    private func lookup(_ piece: UnsafeBufferPointer<UInt32>, continuation: Bool, isCanonical: Bool,
                        workspace: TokenizerWorkspace) -> Int32? {
        if isCanonical { return vocabulary.id(canonical: piece, continuation: continuation) }
        var count = 0
        var runStart = 0
        var fits = true
        for scalar in piece {
            ScalarNormalization.decompose(scalar) { part in
                guard fits, count < workspace.canonicalCapacity else {
                    fits = false
                    return
                }
                ScalarNormalization.insertCanonically(part, combiningClass: ScalarNormalization.combiningClass(part),
                                                      into: workspace.canonical, count: &count, runStart: &runStart)
            }
        }
        guard fits else { return nil }
        return vocabulary.id(canonical: UnsafeBufferPointer(start: workspace.canonical, count: count), continuation: continuation)
    }
}
