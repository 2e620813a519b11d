/// The BERT WordPiece tokenizer (uncased checkpoints such as all-MiniLM-L6-v2), inside the enclave:
/// ``BertPreTokenizer`` words, then greedy longest-match-first word pieces (`##` marks a continuation);
/// a word longer than ``maxCharactersPerWord`` or with no segmentation becomes `[UNK]`.
///
/// ``encode(_:maxLength:)`` adds `[CLS]` … `[SEP]` and truncates to `maxLength` tokens in all (it stops reading
/// the text there);
/// ``encodeBatch(_:maxLength:)`` pads a batch to its longest sequence with `[PAD]`, an attention mask and
/// zero token types — the same ids the Hugging Face `BertTokenizer` gives.
public struct WordPieceTokenizer: Sendable {
    private let vocabulary: [String: Int32]
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
    /// - Throws: ``InferenceError`` `invalidArgument` when the vocabulary lacks `[UNK]`, `[CLS]`, `[SEP]` or
    ///   `[PAD]`, or repeats a token.
    public init(vocabulary text: String, lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true,
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
        self.preTokenizer = BertPreTokenizer(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                                             splitChineseCharacters: splitChineseCharacters)
    }

    /// The token ids of `text`, without special tokens: all of them, or the first `limit`. With a limit the
    /// tokenizer stops reading the text once it has that many tokens, so the work done for a text is bounded by
    /// `max_sequence_length`, not by the text's length.
    public func tokenIDs(_ text: String, limit: Int = .max) -> [Int32] {
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
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        let body = tokenIDs(text, limit: max(maxLength - 2, 0))
        return [classifierID] + body + [separatorID]
    }

    /// Encodes and pads a batch to its longest sequence.
    public func encodeBatch(_ texts: [String], maxLength: Int) -> TokenizedBatch {
        let sequences = texts.map { encode($0, maxLength: maxLength) }
        let length = sequences.map(\.count).max() ?? 0
        var ids: [Int64] = [], mask: [Int64] = []
        ids.reserveCapacity(texts.count * length)
        mask.reserveCapacity(texts.count * length)
        for sequence in sequences {
            ids.append(contentsOf: sequence.map { Int64($0) })
            ids.append(contentsOf: repeatElement(Int64(paddingID), count: length - sequence.count))
            mask.append(contentsOf: repeatElement(1, count: sequence.count))
            mask.append(contentsOf: repeatElement(0, count: length - sequence.count))
        }
        return TokenizedBatch(batchSize: texts.count, sequenceLength: length, inputIDs: ids, attentionMask: mask,
                              tokenTypeIDs: Array(repeating: 0, count: ids.count))
    }
}

/// A padded batch of token ids, row-major `[batchSize, sequenceLength]`.
public struct TokenizedBatch: Sendable, Equatable {
    public let batchSize: Int
    public let sequenceLength: Int
    public let inputIDs: [Int64]
    /// 1 for real tokens, 0 for padding.
    public let attentionMask: [Int64]
    /// All 0 (single-segment input).
    public let tokenTypeIDs: [Int64]

    /// The batch as the model inputs BERT exports use (`input_ids`, `attention_mask`, `token_type_ids`).
    public var tensors: [String: HostTensor] {
        let shape = [batchSize, sequenceLength]
        return ["input_ids": HostTensor(int64: inputIDs, shape: shape),
                "attention_mask": HostTensor(int64: attentionMask, shape: shape),
                "token_type_ids": HostTensor(int64: tokenTypeIDs, shape: shape)]
    }
}
