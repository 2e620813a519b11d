/// Bounds-checked little-endian reads from untrusted bytes. Every read checks its offset and size, so a
/// short or hostile buffer yields an error, never a trap.
struct LittleEndianReader {
    let bytes: [UInt8]
    /// Names the structure being read, for error messages ("SNP report").
    let structure: String

    func bytes(at offset: Int, count: Int, field: String) throws(AttestationError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw AttestationError(
                .malformedEvidence, field: field, expected: "\(offset + count) bytes", actual: "\(bytes.count) bytes",
                "the \(structure) is too short to hold `\(field)` at offset 0x\(String(offset, radix: 16)); "
                    + "the evidence is truncated or is not a \(structure)")
        }
        return Array(bytes[offset..<(offset + count)])
    }

    func u8(at offset: Int, field: String) throws(AttestationError) -> UInt8 {
        try bytes(at: offset, count: 1, field: field)[0]
    }

    func u32(at offset: Int, field: String) throws(AttestationError) -> UInt32 {
        UInt32(truncatingIfNeeded: try integer(at: offset, count: 4, field: field))
    }

    func u64(at offset: Int, field: String) throws(AttestationError) -> UInt64 {
        try integer(at: offset, count: 8, field: field)
    }

    private func integer(at offset: Int, count: Int, field: String) throws(AttestationError) -> UInt64 {
        let raw = try bytes(at: offset, count: count, field: field)
        var value: UInt64 = 0
        for (index, byte) in raw.enumerated() {
            value |= UInt64(byte) << (8 * UInt64(index))
        }
        return value
    }
}

/// Little-endian writes into a fixed-size buffer. Writing outside the buffer or a field of the wrong
/// size is a programming error and traps with the field's name.
struct LittleEndianWriter {
    private(set) var bytes: [UInt8]

    init(count: Int) {
        bytes = [UInt8](repeating: 0, count: count)
    }

    mutating func put(_ value: [UInt8], at offset: Int, size: Int, field: String) {
        precondition(value.count == size, "SNP report field `\(field)` must be \(size) bytes, got \(value.count)")
        precondition(offset >= 0 && offset + size <= bytes.count, "field `\(field)` lies outside the report")
        bytes.replaceSubrange(offset..<(offset + size), with: value)
    }

    mutating func put(_ value: UInt8, at offset: Int, field: String) {
        put([value], at: offset, size: 1, field: field)
    }

    mutating func put(_ value: UInt32, at offset: Int, field: String) {
        put((0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }, at: offset, size: 4, field: field)
    }

    mutating func put(_ value: UInt64, at offset: Int, field: String) {
        put((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }, at: offset, size: 8, field: field)
    }
}
