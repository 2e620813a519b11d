/// The few DER primitives the AMD VCEK extensions use (INTEGER, IA5String): encoding for
/// the simulator, and bounded decoding of extension values from untrusted certificates.
enum DER {
    static let integerTag: UInt8 = 0x02
    static let ia5StringTag: UInt8 = 0x16

    static func encodeLength(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var value = count
        while value > 0 {
            bytes.insert(UInt8(value & 0xFF), at: 0)
            value >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func encode(tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + encodeLength(content.count) + content
    }

    /// A non-negative INTEGER in its minimal form.
    static func integer(_ value: UInt64) -> [UInt8] {
        var bytes = (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        while bytes.count > 1, bytes[0] == 0, bytes[1] & 0x80 == 0 { bytes.removeFirst() }
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return encode(tag: integerTag, bytes)
    }


    static func ia5String(_ text: String) -> [UInt8] { encode(tag: ia5StringTag, Array(text.utf8)) }

    /// The content of a single TLV with `tag` that fills `bytes` exactly; nil otherwise.
    static func content(of bytes: [UInt8], tag: UInt8) -> [UInt8]? {
        guard bytes.count >= 2, bytes[0] == tag else { return nil }
        var index = 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let octets = length & 0x7F
            guard octets >= 1, octets <= 3, bytes.count >= index + octets else { return nil }
            length = 0
            for _ in 0..<octets {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.count - index == length else { return nil }
        return Array(bytes[index...])
    }

    /// A non-negative INTEGER that fits in 64 bits; nil otherwise.
    static func decodeUnsigned(_ bytes: [UInt8]) -> UInt64? {
        guard var content = content(of: bytes, tag: integerTag), !content.isEmpty, content[0] & 0x80 == 0 else {
            return nil
        }
        while content.count > 1, content[0] == 0 { content.removeFirst() }
        guard content.count <= 8 else { return nil }
        return content.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
