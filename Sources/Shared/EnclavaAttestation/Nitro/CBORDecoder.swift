/// A strict, bounded CBOR (RFC 8949) decoder for untrusted bytes.
///
/// Accepted: definite-length integers, byte and text strings, arrays and maps, `false`, `true`, `null`,
/// each in the shortest ("preferred") encoding of its argument, and exactly one top-level item with no
/// trailing bytes. Refused, each with a ``AttestationError`` (code `malformedEvidence`) naming the offset:
/// indefinite lengths, tags, floats, `undefined` and other simple values, reserved additional-information
/// values, non-shortest arguments, invalid UTF-8, duplicate map keys, nesting deeper than
/// ``Limits/maxDepth``, containers longer than ``Limits/maxContainerCount`` and inputs longer than
/// ``Limits/maxInputBytes``. Every declared length is checked against the bytes that remain **before**
/// anything is allocated, so a hostile length cannot make the decoder allocate or read out of bounds.
///
/// Map keys need not be sorted (RFC 8949 §4.2.1 deterministic order is not required): what is signed is the
/// bytes as sent, and the shortest-form rule already makes every accepted item re-encode to the same bytes.
public struct CBORDecoder {
    /// Bounds on what the decoder accepts.
    public struct Limits: Sendable, Equatable {
        /// The deepest nesting of arrays and maps (1 = a top-level container of scalars).
        public var maxDepth: Int
        /// The most items in one array or entries in one map.
        public var maxContainerCount: Int
        /// The longest input.
        public var maxInputBytes: Int

        /// Limits; the defaults fit an AWS Nitro attestation document (about 8 KiB, depth 3) with room to spare.
        public init(maxDepth: Int = 8, maxContainerCount: Int = 256, maxInputBytes: Int = 64 << 10) {
            self.maxDepth = maxDepth
            self.maxContainerCount = maxContainerCount
            self.maxInputBytes = maxInputBytes
        }
    }

    private let bytes: [UInt8]
    private let limits: Limits
    private let structure: String
    private let format: String
    private var offset = 0

    private init(bytes: [UInt8], limits: Limits, structure: String, format: String) {
        self.bytes = bytes
        self.limits = limits
        self.structure = structure
        self.format = format
    }

    /// Decodes exactly one CBOR item that fills all of `bytes`.
    /// - Parameters:
    ///   - bytes: untrusted input.
    ///   - limits: bounds on depth, container size and input size.
    ///   - structure: what the bytes should be ("COSE_Sign1", "attestation document payload"), for errors.
    ///   - format: the evidence format the bytes should belong to, for errors.
    /// - Throws: ``AttestationError`` `malformedEvidence` with `field` = `structure` and the offset in the message.
    public static func decode(
        _ bytes: [UInt8], limits: Limits = Limits(), structure: String, format: String = "an AWS Nitro attestation document"
    ) throws(AttestationError) -> CBORValue {
        var decoder = CBORDecoder(bytes: bytes, limits: limits, structure: structure, format: format)
        guard bytes.count <= limits.maxInputBytes else {
            throw decoder.error("input too large", expected: "at most \(limits.maxInputBytes) bytes", actual: "\(bytes.count) bytes")
        }
        let value = try decoder.item(depth: 0)
        guard decoder.offset == bytes.count else {
            throw decoder.error(
                "\(bytes.count - decoder.offset) trailing bytes after the item", expected: "\(decoder.offset) bytes",
                actual: "\(bytes.count) bytes")
        }
        return value
    }

    private var remaining: Int { bytes.count - offset }

    private func error(_ problem: String, expected: String? = nil, actual: String? = nil) -> AttestationError {
        AttestationError(
            .malformedEvidence, field: structure, expected: expected, actual: actual,
            "the \(structure) is not valid strict CBOR: \(problem) at offset \(offset); the evidence is corrupt, "
                + "truncated or not \(format)")
    }

    private mutating func byte() throws(AttestationError) -> UInt8 {
        guard remaining >= 1 else { throw error("unexpected end of input") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads `count` bytes; `count` has been checked against `remaining` by the caller or is checked here.
    private mutating func take(_ count: Int) throws(AttestationError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw error("unexpected end of input", expected: "\(count) more bytes", actual: "\(remaining)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// The argument of a head whose additional information is `info`, in its shortest form.
    private mutating func argument(_ info: UInt8, major: UInt8) throws(AttestationError) -> UInt64 {
        let width: Int
        switch info {
        case 0...23: return UInt64(info)
        case 24: width = 1
        case 25: width = 2
        case 26: width = 4
        case 27: width = 8
        case 31: throw error("indefinite length (major type \(major)); only definite lengths are allowed")
        default: throw error("reserved additional information \(info)")
        }
        var value: UInt64 = 0
        for byte in try take(width) { value = value << 8 | UInt64(byte) }
        let shortest: UInt64 = width == 1 ? 24 : 1 << (4 * UInt64(width))  // 24, 2^8, 2^16, 2^32
        guard value >= shortest else {
            throw error("argument \(value) is not in its shortest encoding (\(width) bytes)")
        }
        return value
    }

    /// A declared length or count, checked against the bytes left (each element needs `minimumBytesEach`).
    private func length(_ value: UInt64, minimumBytesEach: Int, what: String) throws(AttestationError) -> Int {
        guard value <= UInt64(remaining / minimumBytesEach) else {
            throw error(
                "declared \(what) \(value) exceeds the \(remaining) bytes that remain", expected: "at most \(remaining / minimumBytesEach)",
                actual: "\(value)")
        }
        return Int(value)
    }

    private mutating func item(depth: Int) throws(AttestationError) -> CBORValue {
        let head = try byte()
        let major = head >> 5
        let info = head & 0x1F
        switch major {
        case 0:
            return .unsigned(try argument(info, major: major))
        case 1:
            return .negative(try argument(info, major: major))
        case 2:
            let count = try length(try argument(info, major: major), minimumBytesEach: 1, what: "byte string length")
            return .bytes(Array(try take(count)))
        case 3:
            let start = offset
            let count = try length(try argument(info, major: major), minimumBytesEach: 1, what: "text string length")
            let raw = try take(count)
            guard let text = String(validating: raw, as: UTF8.self) else {
                offset = start
                throw error("text string is not valid UTF-8")
            }
            return .text(text)
        case 4:
            let count = try container(info, major: major, depth: depth, minimumBytesEach: 1, what: "array length")
            var items: [CBORValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try item(depth: depth + 1)) }
            return .array(items)
        case 5:
            let count = try container(info, major: major, depth: depth, minimumBytesEach: 2, what: "map size")
            var entries: [CBORValue.Entry] = []
            entries.reserveCapacity(count)
            var keys = Set<CBORValue>()
            for _ in 0..<count {
                let keyOffset = offset
                let key = try item(depth: depth + 1)
                guard keys.insert(key).inserted else {
                    offset = keyOffset
                    throw error("duplicate map key")
                }
                entries.append(CBORValue.Entry(key: key, value: try item(depth: depth + 1)))
            }
            return .map(entries)
        case 6:
            offset -= 1
            throw error("tag (major type 6); tags are not allowed here")
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 31:
                offset -= 1
                throw error("unexpected \"break\" (indefinite lengths are not allowed)")
            case 25, 26, 27:
                offset -= 1
                throw error("floating-point number; not allowed here")
            default:
                offset -= 1
                throw error("simple value \(info); only false, true and null are allowed")
            }
        }
    }

    private mutating func container(
        _ info: UInt8, major: UInt8, depth: Int, minimumBytesEach: Int, what: String
    ) throws(AttestationError) -> Int {
        guard depth < limits.maxDepth else {
            offset -= 1
            throw error("nesting deeper than \(limits.maxDepth)", expected: "depth at most \(limits.maxDepth)")
        }
        let count = try length(try argument(info, major: major), minimumBytesEach: minimumBytesEach, what: what)
        guard count <= limits.maxContainerCount else {
            throw error("\(what) \(count) is over the limit", expected: "at most \(limits.maxContainerCount)", actual: "\(count)")
        }
        return count
    }
}
