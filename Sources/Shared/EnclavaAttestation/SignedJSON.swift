/// Finds the exact bytes of a top-level member's value in a JSON object, without re-encoding it. Intel
/// signs the bytes of the inner object of a PCS response (`{"tcbInfo":{…},"signature":"…"}`), so the
/// verifier must check the signature over those bytes as received.
enum SignedJSON {
    /// The raw bytes of the value of `key` in the top-level object `bytes`; nil when `bytes` is not a
    /// JSON object with that member (or is malformed where the scan needs it to be well-formed).
    static func rawValue(of key: String, in bytes: [UInt8]) -> [UInt8]? {
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        let wanted = Array(key.utf8)
        while true {
            scanner.skipWhitespace()
            if scanner.take(UInt8(ascii: "}")) { return nil }
            guard let nameRange = scanner.string() else { return nil }
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            guard let valueRange = scanner.value() else { return nil }
            if Array(bytes[(nameRange.lowerBound + 1)..<(nameRange.upperBound - 1)]) == wanted {
                return Array(bytes[valueRange])
            }
            scanner.skipWhitespace()
            if scanner.take(UInt8(ascii: ",")) { continue }
            return nil
        }
    }

    /// A cursor over JSON bytes that finds the extent of strings and values.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        /// Values nested deeper than this are refused (Intel's collateral nests 5 levels).
        static let maxDepth = 64

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string starting at the cursor, quotes included.
        mutating func string() -> Range<Int>? {
            let start = index
            guard take(UInt8(ascii: "\"")) else { return nil }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\\") {
                    guard index < bytes.count else { return nil }
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return start..<index
                }
            }
            return nil
        }

        /// Any value starting at the cursor.
        mutating func value() -> Range<Int>? {
            let start = index
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return string()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard string() != nil else { return nil }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                        guard depth <= Self.maxDepth else { return nil }
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return start..<index
                        }
                    default:
                        break
                    }
                    index += 1
                }
                return nil
            default:
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]
                    .contains(bytes[index])
                {
                    index += 1
                }
                return index > start ? start..<index : nil
            }
        }
    }
}
