/// A GUID as EDK2 stores it in firmware: the first three fields little-endian, the last eight bytes as
/// written (`uuid.bytes_le` in Python, `EFI_GUID` in C).
public struct FirmwareGUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as they appear in the firmware image.
    public let bytes: [UInt8]

    /// The GUID of the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; traps on malformed text
    /// (only literals of this module are parsed).
    init(_ text: StaticString) {
        let string = text.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
        let fields = string.split(separator: "-").map(String.init)
        precondition(fields.map(\.count) == [8, 4, 4, 4, 12], "malformed GUID literal \(string)")
        func hexBytes(_ field: String) -> [UInt8] {
            var result: [UInt8] = []
            var index = field.startIndex
            while index < field.endIndex {
                let next = field.index(index, offsetBy: 2)
                result.append(UInt8(field[index..<next], radix: 16)!)
                index = next
            }
            return result
        }
        bytes = hexBytes(fields[0]).reversed() + hexBytes(fields[1]).reversed() + hexBytes(fields[2]).reversed()
            + hexBytes(fields[3]) + hexBytes(fields[4])
    }

    /// The GUID stored as `bytes` (16 of them).
    init(stored bytes: ArraySlice<UInt8>) {
        precondition(bytes.count == 16)
        self.bytes = Array(bytes)
    }

    /// The canonical text form.
    public var description: String {
        func hex(_ slice: [UInt8]) -> String { slice.map { String(format2: $0) }.joined() }
        return [hex(bytes[0..<4].reversed()), hex(bytes[4..<6].reversed()), hex(bytes[6..<8].reversed()),
                hex(Array(bytes[8..<10])), hex(Array(bytes[10..<16]))].joined(separator: "-")
    }

    /// The end of OVMF's GUIDed footer table (32 bytes before the end of the image).
    static let footerTable = FirmwareGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
    /// OVMF's SEV metadata: its offset from the end of the image.
    static let sevMetadata = FirmwareGUID("dc886566-984a-4798-a75e-5585a7bf67cc")
    /// The SEV-ES reset block: the reset address of the application processors.
    static let sevESResetBlock = FirmwareGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
    /// Where QEMU puts the SEV kernel-hashes table (its guest physical address).
    static let sevHashTable = FirmwareGUID("7255371f-3a3b-4b04-927b-1da6efa8d454")
    /// TDVF's TDX metadata: its offset from the end of the image.
    static let tdxMetadata = FirmwareGUID("e47a6535-984a-4798-865e-4685a7bf8ec2")
}

private extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}

extension Array where Element == UInt8 {
    /// The little-endian integer at `offset` (the caller has checked the bounds).
    func littleEndian<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(self[offset + index]) << (8 * index) }
        return value
    }

    /// Appends `value` little-endian.
    mutating func appendLittleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    /// Writes `value` little-endian at `offset` (the caller has checked the bounds).
    mutating func setLittleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at offset: Int) {
        for index in 0..<MemoryLayout<T>.size { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}
