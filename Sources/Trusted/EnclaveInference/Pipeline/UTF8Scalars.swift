/// Unicode scalars read straight from UTF-8 bytes, so that a request's texts are tokenized where they lie
/// (in locked memory) without ever becoming a Swift `String` (DESIGN.md §5).
public enum UTF8Scalars {
    /// What ``decode(_:at:)`` returns for an ill-formed sequence: not a scalar, so it can never be mistaken
    /// for one (the pre-tokenizer drops it, as it drops U+FFFD).
    public static let illFormed: UInt32 = 0x11_0000

    /// The scalar that starts at `index` (which must be inside `bytes`) and the index after it. An ill-formed
    /// sequence (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, cut short) gives
    /// ``illFormed`` and consumes one byte, so a valid character after it is never swallowed.
    @inline(__always)
    public static func decode(_ bytes: UnsafeRawBufferPointer, at index: Int) -> (scalar: UInt32, next: Int) {
        let lead = UInt32(bytes[index])
        if lead < 0x80 { return (lead, index + 1) }
        return decodeMultiByte(bytes, at: index, lead: lead)
    }

    private static func decodeMultiByte(_ bytes: UnsafeRawBufferPointer, at index: Int, lead: UInt32) -> (scalar: UInt32, next: Int) {
        let length: Int, low: UInt8, high: UInt8
        switch lead {
        case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
        case 0xED: (length, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
        default: return (illFormed, index + 1)
        }
        guard index + length <= bytes.count else { return (illFormed, index + 1) }
        let second = bytes[index + 1]
        guard second >= low && second <= high else { return (illFormed, index + 1) }
        var scalar = (lead & (0x7F >> UInt32(length))) << 6 | UInt32(second & 0x3F)
        for offset in 2..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return (illFormed, index + 1) }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        return (scalar, index + length)
    }

    /// The offset of the first ill-formed sequence in `bytes`, or nil when all of it is well-formed UTF-8
    /// (what protobuf requires of a `string` field).
    public static func firstIllFormedOffset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            let (scalar, next) = decode(bytes, at: index)
            if scalar == illFormed { return index }
            index = next
        }
        return nil
    }

    /// Calls `body` with the UTF-8 bytes of `scalar` (1…4 of them), in order.
    @inline(__always)
    static func forEachByte(of scalar: UInt32, _ body: (UInt8) -> Void) {
        switch scalar {
        case 0..<0x80:
            body(UInt8(scalar))
        case 0x80..<0x800:
            body(UInt8(0xC0 | scalar >> 6))
            body(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x1_0000:
            body(UInt8(0xE0 | scalar >> 12))
            body(UInt8(0x80 | scalar >> 6 & 0x3F))
            body(UInt8(0x80 | scalar & 0x3F))
        default:
            body(UInt8(0xF0 | scalar >> 18))
            body(UInt8(0x80 | scalar >> 12 & 0x3F))
            body(UInt8(0x80 | scalar >> 6 & 0x3F))
            body(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
