/// A decoded claims map of an Arm CCA or PSA token with typed, bounded accessors: each wrong, missing or
/// oversized claim is refused with an ``AttestationError`` (`malformedEvidence`) whose field is
/// `<part>.<claim name>` (e.g. `realm.rim`), so a test and a user can tell which claim was bad.
struct ArmClaimMap {
    /// The token part, for fields and messages ("platform", "realm", "psa").
    let part: String
    /// The format, for messages ("an Arm CCA attestation token").
    let format: String
    private let entries: [CBORValue.Entry]

    /// The map in `payload`, or an error naming `part`.
    init(_ payload: [UInt8], part: String, format: String) throws(AttestationError) {
        let value = try CBORDecoder.decode(payload, structure: "\(part) claims", format: format)
        guard case .map(let entries) = value else {
            throw AttestationError(
                .malformedEvidence, field: "\(part).claims", expected: "map", actual: value.typeName,
                "the \(part) token's payload must be a CBOR map of claims; the evidence is corrupt or not \(format)")
        }
        self.part = part
        self.format = format
        self.entries = entries
    }

    /// The value under an integer claim key, if present.
    func value(_ key: Int64) -> CBORValue? {
        let label: CBORValue = key >= 0 ? .unsigned(UInt64(key)) : .negative(UInt64(-1 - key))
        return entries.first { $0.key == label }?.value
    }

    /// Whether the claim is present.
    func has(_ key: Int64) -> Bool { value(key) != nil }

    func malformed(_ name: String, expected: String?, actual: String?, _ problem: String) -> AttestationError {
        AttestationError(
            .malformedEvidence, field: "\(part).\(name)", expected: expected, actual: actual,
            "the \(part) token's `\(name)` claim \(problem); the evidence is corrupt or not \(format)")
    }

    /// A required byte string whose size is in `sizes`.
    func bytes(_ key: Int64, _ name: String, sizes: Set<Int>) throws(AttestationError) -> [UInt8] {
        guard let value = value(key) else { throw malformed(name, expected: "present", actual: "missing", "is missing") }
        return try Self.bytes(value, name: name, sizes: sizes, map: self)
    }

    /// An optional byte string whose size is in `sizes`.
    func optionalBytes(_ key: Int64, _ name: String, sizes: Set<Int>) throws(AttestationError) -> [UInt8]? {
        guard let value = value(key) else { return nil }
        return try Self.bytes(value, name: name, sizes: sizes, map: self)
    }

    static func bytes(_ value: CBORValue, name: String, sizes: Set<Int>, map: ArmClaimMap) throws(AttestationError) -> [UInt8] {
        guard case .bytes(let bytes) = value else {
            throw map.malformed(name, expected: "byte string", actual: value.typeName, "must be a byte string")
        }
        guard sizes.contains(bytes.count) else {
            let accepted = sizes.sorted().map(String.init).joined(separator: " or ")
            throw map.malformed(name, expected: "\(accepted) bytes", actual: "\(bytes.count) bytes", "has the wrong size")
        }
        return bytes
    }

    /// A required text string of at most `maxLength` UTF-8 bytes.
    func text(_ key: Int64, _ name: String, maxLength: Int = 256) throws(AttestationError) -> String {
        guard let value = value(key) else { throw malformed(name, expected: "present", actual: "missing", "is missing") }
        return try Self.text(value, name: name, maxLength: maxLength, map: self)
    }

    /// An optional text string of at most `maxLength` UTF-8 bytes.
    func optionalText(_ key: Int64, _ name: String, maxLength: Int = 256) throws(AttestationError) -> String? {
        guard let value = value(key) else { return nil }
        return try Self.text(value, name: name, maxLength: maxLength, map: self)
    }

    static func text(_ value: CBORValue, name: String, maxLength: Int, map: ArmClaimMap) throws(AttestationError) -> String {
        guard case .text(let text) = value else {
            throw map.malformed(name, expected: "text string", actual: value.typeName, "must be a text string")
        }
        guard text.utf8.count <= maxLength, !text.isEmpty else {
            throw map.malformed(name, expected: "1…\(maxLength) bytes", actual: "\(text.utf8.count) bytes", "has the wrong length")
        }
        return text
    }

    /// A required unsigned integer no larger than `max`.
    func unsigned(_ key: Int64, _ name: String, max: UInt64) throws(AttestationError) -> UInt64 {
        guard let value = value(key) else { throw malformed(name, expected: "present", actual: "missing", "is missing") }
        guard case .unsigned(let number) = value, number <= max else {
            throw malformed(name, expected: "an unsigned integer ≤ \(max)", actual: COSESign1.describe(value), "is out of range")
        }
        return number
    }

    /// A required integer (signed).
    func integer(_ key: Int64, _ name: String) throws(AttestationError) -> Int64 {
        guard let value = value(key) else { throw malformed(name, expected: "present", actual: "missing", "is missing") }
        guard let number = value.integerValue else {
            throw malformed(name, expected: "integer", actual: value.typeName, "must be an integer")
        }
        return number
    }
}

extension CBORDecoder {
    /// Splits a leading CBOR tag head (major type 6) off `bytes`: the tag number and the bytes of the tagged
    /// item. The tagged item is then decoded by ``decode(_:limits:structure:format:)``, which refuses any tag
    /// inside it. Nil when `bytes` does not start with a tag.
    static func leadingTag(_ bytes: [UInt8]) -> (tag: UInt64, item: [UInt8])? {
        guard let head = bytes.first, head >> 5 == 6 else { return nil }
        let info = head & 0x1F
        let width: Int
        switch info {
        case 0...23: return (UInt64(info), Array(bytes.dropFirst()))
        case 24: width = 1
        case 25: width = 2
        case 26: width = 4
        case 27: width = 8
        default: return nil
        }
        guard bytes.count > width else { return nil }
        var tag: UInt64 = 0
        for byte in bytes[1...width] { tag = tag << 8 | UInt64(byte) }
        let shortest: UInt64 = width == 1 ? 24 : 1 << (4 * UInt64(width))
        guard tag >= shortest else { return nil }
        return (tag, Array(bytes.dropFirst(1 + width)))
    }
}
