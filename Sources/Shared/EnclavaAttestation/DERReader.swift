/// A bounded reader of DER TLVs (definite lengths, low tag numbers) over untrusted bytes, enough for the
/// Intel SGX PCK certificate extension. Every length is checked against the remaining bytes.
struct DERReader {
    static let sequenceTag: UInt8 = 0x30
    static let oidTag: UInt8 = 0x06
    static let integerTag: UInt8 = 0x02
    static let octetStringTag: UInt8 = 0x04
    static let enumeratedTag: UInt8 = 0x0A
    static let booleanTag: UInt8 = 0x01

    private let bytes: [UInt8]
    private var index: Int
    /// Names what is read, for errors.
    let structure: String

    init(_ bytes: [UInt8], structure: String) {
        self.bytes = bytes
        self.index = 0
        self.structure = structure
    }

    /// True when every byte has been read.
    var isAtEnd: Bool { index >= bytes.count }

    /// Reads the next TLV.
    mutating func next() throws(AttestationError) -> (tag: UInt8, content: [UInt8]) {
        guard bytes.count - index >= 2 else { throw malformed("a truncated TLV") }
        let tag = bytes[index]
        guard tag & 0x1F != 0x1F else { throw malformed("a high tag number") }
        var cursor = index + 1
        var length = Int(bytes[cursor])
        cursor += 1
        if length & 0x80 != 0 {
            let octets = length & 0x7F
            guard octets >= 1, octets <= 3, bytes.count - cursor >= octets else {
                throw malformed("an unsupported length encoding")
            }
            length = 0
            for _ in 0..<octets {
                length = length << 8 | Int(bytes[cursor])
                cursor += 1
            }
        }
        guard length <= bytes.count - cursor else { throw malformed("a length past the end") }
        index = cursor + length
        return (tag, Array(bytes[cursor..<(cursor + length)]))
    }

    /// Reads the next TLV, which must have `tag`.
    mutating func next(tag: UInt8) throws(AttestationError) -> [UInt8] {
        let element = try next()
        guard element.tag == tag else {
            throw malformed("tag 0x\(String(element.tag, radix: 16)) where 0x\(String(tag, radix: 16)) belongs")
        }
        return element.content
    }

    /// The content of a non-negative INTEGER or ENUMERATED that fits in 64 bits.
    static func unsigned(_ content: [UInt8]) -> UInt64? {
        guard !content.isEmpty, content.count <= 9, content[0] & 0x80 == 0 else { return nil }
        let significant = content.drop { $0 == 0 }
        guard significant.count <= 8 else { return nil }
        return significant.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Dotted text of an OBJECT IDENTIFIER's content; nil when malformed.
    static func objectIdentifier(_ content: [UInt8]) -> String? {
        guard !content.isEmpty, content.last! & 0x80 == 0 else { return nil }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in content {
            guard value >> 56 == 0 else { return nil }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
            }
        }
        let first = arcs[0]
        let head: [UInt64] = first < 80 ? [first / 40, first % 40] : [2, first - 80]
        return (head + arcs.dropFirst()).map(String.init).joined(separator: ".")
    }

    private func malformed(_ what: String) -> AttestationError {
        AttestationError(
            .malformedEvidence, field: structure,
            "the \(structure) holds \(what) at byte \(index); the certificate is corrupt or not an Intel PCK certificate")
    }
}
