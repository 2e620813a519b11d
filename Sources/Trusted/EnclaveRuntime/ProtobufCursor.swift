/// Steps through the fields of one protobuf message inside a buffer, checking every tag, varint and length
/// against the bytes that remain (``InferPayloadReader``).
struct ProtobufCursor {
    static let varint: UInt8 = 0, fixed64: UInt8 = 1, lengthDelimited: UInt8 = 2, fixed32: UInt8 = 5
    static let maxFieldNumber: UInt64 = (1 << 29) - 1

    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private let end: Int

    /// A cursor over `bytes[range]` (the range is within `bytes`).
    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// The next field's number, wire type and offset, or nil at the end of the message.
    mutating func nextField() throws(PayloadFormatError) -> (number: Int, wireType: UInt8, at: Int)? {
        guard position < end else { return nil }
        let at = position
        let tag = try readVarint()
        guard tag <= UInt64(UInt32.max) else {
            throw PayloadFormatError(.overlongVarint, at: at, "a field tag does not fit in 32 bits")
        }
        let number = tag >> 3, wireType = UInt8(tag & 7)
        guard number >= 1, number <= Self.maxFieldNumber else {
            throw PayloadFormatError(.invalidFieldNumber, at: at, "field number \(number) is outside 1…\(Self.maxFieldNumber)")
        }
        return (Int(number), wireType, at)
    }

    /// The payload range of a length-delimited field whose tag was just read.
    mutating func lengthDelimited() throws(PayloadFormatError) -> Range<Int> {
        let at = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw PayloadFormatError(.pastEnd, at: at, "a length-delimited field of \(length) bytes runs past the end of its "
                                     + "message (\(end - position) bytes left)")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// Skips the value of a field of `wireType` (read at `at`).
    mutating func skip(wireType: UInt8, at: Int) throws(PayloadFormatError) {
        switch wireType {
        case Self.varint: _ = try readVarint()
        case Self.fixed64: try skipFixed(8, at: at)
        case Self.lengthDelimited: _ = try lengthDelimited()
        case Self.fixed32: try skipFixed(4, at: at)
        default:
            throw PayloadFormatError(.unsupportedWireType, at: at, "wire type \(wireType) is not accepted (groups and undefined "
                                     + "wire types are refused)")
        }
    }

    private mutating func skipFixed(_ count: Int, at: Int) throws(PayloadFormatError) {
        guard end - position >= count else {
            throw PayloadFormatError(.pastEnd, at: at, "a \(count)-byte fixed-width field runs past the end of its message")
        }
        position += count
    }

    /// A base-128 varint of at most 10 bytes that fits in 64 bits.
    private mutating func readVarint() throws(PayloadFormatError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else {
                throw PayloadFormatError(.truncatedVarint, at: start, "a varint runs past the end of its message")
            }
            let byte = bytes[position]
            position += 1
            guard shift < 63 || byte <= 1 else {
                throw PayloadFormatError(.overlongVarint, at: start, "a varint is longer than 10 bytes or overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}
