import EnclavaCrypto

/// The texts of one request as UTF-8 byte ranges inside one block of secure memory — for a served request,
/// the decrypted payload itself, so the texts are tokenized where they were decrypted and never become a
/// Swift `String` (DESIGN.md §5).
public struct TextBatch: Sendable {
    /// The block holding the texts (locked, dump-excluded, zeroized when the last copy goes).
    public let bytes: SecureBytes
    /// Each text's bytes within ``bytes``, in order.
    public let ranges: [Range<Int>]

    /// Texts at `ranges` inside `bytes` (no copy). The caller has checked that each range is well-formed
    /// UTF-8 (ill-formed sequences are dropped by the tokenizer, like U+FFFD).
    public init(bytes: SecureBytes, ranges: [Range<Int>]) {
        precondition(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= bytes.count }, "TextBatch range out of bounds")
        self.bytes = bytes
        self.ranges = ranges
    }

    /// Copies `texts` into secure memory (tests and tools: the `String`s themselves are ordinary memory).
    public init(copying texts: [String]) {
        var bytes = SecureBytes(count: 0)
        var ranges: [Range<Int>] = []
        for text in texts {
            var text = text
            let start = bytes.count
            text.withUTF8 { bytes.append(contentsOf: UnsafeRawBufferPointer($0)) }
            ranges.append(start..<bytes.count)
        }
        self.init(bytes: bytes, ranges: ranges)
    }

    /// Number of texts.
    public var count: Int { ranges.count }

    /// The UTF-8 length of text `index`.
    public func byteCount(at index: Int) -> Int { ranges[index].count }

    /// Calls `body` with each text's index and bytes, in order. Do not let the pointer escape.
    public func forEachText(_ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            for (index, range) in ranges.enumerated() { try body(index, UnsafeRawBufferPointer(rebasing: all[range])) }
        }
    }
}
