/// A tiny deterministic JSON writer for the canonical manifest form: objects with keys sorted by
/// their UTF-8 bytes, no whitespace, integers in decimal, strings with the minimal escapes
/// (`"`, `\`, and control characters as `\u00XX`; everything else as raw UTF-8).
indirect enum CanonicalJSON: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([CanonicalJSON])
    case object([(String, CanonicalJSON)])

    /// The canonical UTF-8 encoding.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .string(let text):
            Self.writeString(text, to: &out)
        case .int(let number):
            out.append(contentsOf: Array(String(number).utf8))
        case .bool(let flag):
            out.append(contentsOf: Array((flag ? "true" : "false").utf8))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            for (index, (key, value)) in sorted.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func == (lhs: CanonicalJSON, rhs: CanonicalJSON) -> Bool { lhs.bytes == rhs.bytes }
}
