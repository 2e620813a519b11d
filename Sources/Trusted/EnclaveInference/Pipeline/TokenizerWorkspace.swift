/// The tokenizer's working memory for one call, carved out of one ``EnclavaCrypto/SecureBytes`` block
/// (locked, dump-excluded, zeroized when released) that the caller owns: the current word's scalars, the
/// canonical form of a word piece being looked up, and the pieces found for the current word. Request text
/// passes only through here, the caller's locked input and output, and registers.
///
/// A view, not an owner: valid only inside the `withUnsafeMutableBytes` call that made it.
struct TokenizerWorkspace {
    /// Scalars of the current word (``wordCapacity`` of them; a longer word is only counted).
    let word: UnsafeMutablePointer<UInt32>
    /// One more than the longest word the tokenizer segments.
    let wordCapacity: Int
    /// The canonical (NFD) scalars of one word piece (each scalar decomposes into at most four).
    let canonical: UnsafeMutablePointer<UInt32>
    let canonicalCapacity: Int
    /// Ids of the pieces of the current word (at most one per scalar).
    let pieces: UnsafeMutablePointer<Int32>

    /// The bytes a workspace for words of up to `maxCharactersPerWord` scalars needs.
    static func byteCount(maxCharactersPerWord: Int) -> Int {
        let capacity = maxCharactersPerWord + 1
        return capacity * 4 + canonicalCapacity(wordCapacity: capacity) * 4 + capacity * 4
    }

    private static func canonicalCapacity(wordCapacity: Int) -> Int { 4 * wordCapacity }

    /// Carves a workspace out of `raw` (at least ``byteCount(maxCharactersPerWord:)`` bytes, 4-byte aligned).
    init(carving raw: UnsafeMutableRawBufferPointer, maxCharactersPerWord: Int) {
        precondition(raw.count >= Self.byteCount(maxCharactersPerWord: maxCharactersPerWord), "tokenizer workspace too small")
        wordCapacity = maxCharactersPerWord + 1
        canonicalCapacity = Self.canonicalCapacity(wordCapacity: wordCapacity)
        let base = raw.baseAddress!
        word = base.bindMemory(to: UInt32.self, capacity: wordCapacity)
        canonical = (base + wordCapacity * 4).bindMemory(to: UInt32.self, capacity: canonicalCapacity)
        pieces = (base + wordCapacity * 4 + canonicalCapacity * 4).bindMemory(to: Int32.self, capacity: wordCapacity)
    }
}

/// One word handed out by ``BertPreTokenizer``: its normalised scalars in the workspace.
struct NormalizedWord {
    /// The stored scalars (all of them unless the word is longer than the workspace holds).
    let scalars: UnsafeBufferPointer<UInt32>
    /// The word's length in scalars (may exceed `scalars.count`).
    let count: Int
    /// Every scalar is its own NFD and a starter: any piece of the word is already in canonical form, so
    /// vocabulary lookups use the scalars as they are.
    let isCanonical: Bool
}
