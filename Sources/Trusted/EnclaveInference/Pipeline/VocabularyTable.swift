@_spi(_Unicode) import Swift
import EnclavaCrypto

/// A WordPiece vocabulary keyed by bytes: each token's canonical (NFD) UTF-8 bytes in one locked
/// ``EnclavaCrypto/SecureBytes`` block, and an open-addressing hash table of token ids. A word piece is looked
/// up by its scalars where they lie in the tokenizer's locked workspace, so no `String` of request text is
/// ever made for a lookup.
///
/// Keys are canonical so that a lookup finds what a `String`-keyed dictionary finds: Swift compares strings
/// by canonical equivalence, and so did the tokenizer when its vocabulary was a `[String: Int32]`.
/// Immutable once built, so shared between threads.
final class VocabularyTable: @unchecked Sendable {
    /// Canonical UTF-8 bytes of every token, in id order.
    private let keys: SecureBytes
    /// The block's first byte (the block never moves: `keys` is never mutated).
    private let base: UnsafeRawPointer
    /// Byte offset and length of each token's key, by id.
    private let offsets: [UInt32]
    private let lengths: [UInt16]
    /// Hash table slots: token id + 1, 0 when empty (linear probing, power-of-two size).
    private let slots: [Int32]
    private let mask: Int
    /// The most scalars in a key: no longer piece can match, so it is never hashed.
    let maxKeyScalars: Int

    /// Number of tokens.
    var count: Int { offsets.count }

    /// Builds the table from the tokens in id order.
    /// - Throws: ``InferenceError`` `invalidArgument` naming the line of a token that repeats an earlier one
    ///   (up to canonical equivalence), or a token longer than 65535 bytes.
    init(tokens: [Substring]) throws {
        var bytes: [UInt8] = []
        var offsets: [UInt32] = [], lengths: [UInt16] = []
        offsets.reserveCapacity(tokens.count)
        lengths.reserveCapacity(tokens.count)
        var maxKeyScalars = 0
        var scalars: [UInt32] = []
        for token in tokens {
            scalars.removeAll(keepingCapacity: true)
            if token.utf8.allSatisfy({ $0 < 0x80 }) {
                for byte in token.utf8 { scalars.append(UInt32(byte)) }
            } else {
                for scalar in token._nfd { scalars.append(scalar.value) }
            }
            let start = bytes.count
            for scalar in scalars { UTF8Scalars.forEachByte(of: scalar) { bytes.append($0) } }
            guard bytes.count - start <= Int(UInt16.max), bytes.count <= Int(UInt32.max) else {
                throw InferenceError(.invalidArgument, "vocab.txt line \(offsets.count + 1): the token is longer than 65535 bytes")
            }
            offsets.append(UInt32(start))
            lengths.append(UInt16(bytes.count - start))
            maxKeyScalars = max(maxKeyScalars, scalars.count)
        }
        var size = 16
        while size < tokens.count * 2 { size *= 2 }
        self.keys = SecureBytes(bytes)
        self.base = keys.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
        self.offsets = offsets
        self.lengths = lengths
        self.mask = size - 1
        self.maxKeyScalars = maxKeyScalars
        var slots = [Int32](repeating: 0, count: size)
        for id in 0..<offsets.count {
            let key = UnsafeRawBufferPointer(start: base + Int(offsets[id]), count: Int(lengths[id]))
            var slot = Self.hash(key) & mask
            while slots[slot] != 0 {
                let other = Int(slots[slot] - 1)
                let existing = UnsafeRawBufferPointer(start: base + Int(offsets[other]), count: Int(lengths[other]))
                if existing.elementsEqual(key) {
                    throw InferenceError(.invalidArgument, "vocab.txt line \(id + 1): token '\(tokens[id])' appears twice")
                }
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(id + 1)
        }
        self.slots = slots
    }

    /// The id of the token whose canonical form is `scalars`, preceded by `##` when `continuation`.
    /// The caller passes canonical (NFD) scalars.
    @inline(__always)
    func id(canonical scalars: UnsafeBufferPointer<UInt32>, continuation: Bool) -> Int32? {
        var hash = Self.offsetBasis
        var length = 0
        if continuation {
            hash = (hash ^ 0x23) &* Self.prime
            hash = (hash ^ 0x23) &* Self.prime
            length = 2
        }
        for scalar in scalars {
            UTF8Scalars.forEachByte(of: scalar) { byte in
                hash = (hash ^ UInt64(byte)) &* Self.prime
                length += 1
            }
        }
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            let id = Int(entry - 1)
            if Int(lengths[id]) == length && matches(id: id, scalars, continuation: continuation) { return Int32(id) }
            slot = (slot + 1) & mask
        }
    }

    /// The id of `token` (not request text: the special tokens).
    func id(of token: String) -> Int32? {
        let scalars = token._nfd.map(\.value)
        return scalars.withUnsafeBufferPointer { id(canonical: $0, continuation: false) }
    }

    private func matches(id: Int, _ scalars: UnsafeBufferPointer<UInt32>, continuation: Bool) -> Bool {
        let key = base + Int(offsets[id])
        var position = 0
        var equal = true
        if continuation {
            equal = key.load(as: UInt8.self) == 0x23 && key.load(fromByteOffset: 1, as: UInt8.self) == 0x23
            position = 2
        }
        for scalar in scalars where equal {
            UTF8Scalars.forEachByte(of: scalar) { byte in
                if key.load(fromByteOffset: position, as: UInt8.self) != byte { equal = false }
                position += 1
            }
        }
        return equal
    }

    private static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a over the bytes (the same as ``id(canonical:continuation:)`` computes on the fly).
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash = offsetBasis
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return Int(truncatingIfNeeded: hash)
    }
}
