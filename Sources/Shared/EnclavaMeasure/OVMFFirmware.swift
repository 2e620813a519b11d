import Foundation

/// An OVMF (or TDVF) firmware image as QEMU maps it: its last byte at 4 GiB − 1, and its GUIDed footer table
/// (the entries that end 32 bytes before the end of the image) parsed with every length checked.
public struct OVMFFirmware: Sendable {
    /// The largest firmware image accepted (real OVMF images are 2–4 MiB; the flash window below 4 GiB is 16 MiB).
    public static let maximumSize = 16 << 20
    /// The footer table's end: this many bytes before the end of the image.
    static let footerEndOffset = 32
    /// A footer entry's header: a 2-byte length and a 16-byte GUID, after the entry's data.
    static let entryHeaderSize = 18

    /// The image bytes.
    public let bytes: [UInt8]
    /// What the image is called in error messages (its path).
    public let name: String
    /// The footer table's entries: each GUID's data (without the 18-byte header).
    let table: [FirmwareGUID: [UInt8]]

    /// The guest physical address of the first byte: the image ends at 4 GiB.
    public var gpa: UInt64 { 0x1_0000_0000 - UInt64(bytes.count) }

    /// Reads and parses the image at `path`.
    /// - Throws: ``MeasurementError`` `.fileUnreadable` for a missing, unreadable or oversized file,
    ///   `.firmwareInvalid` for a malformed image.
    public init(path: String) throws {
        try self.init(bytes: try Self.read(path), name: path)
    }

    /// Parses `bytes` (called `name` in errors).
    /// - Throws: ``MeasurementError`` `.firmwareInvalid` when the size is not a positive multiple of 4 KiB
    ///   within ``maximumSize`` or the footer table's lengths do not fit.
    public init(bytes: [UInt8], name: String) throws {
        guard !bytes.isEmpty, bytes.count % 4096 == 0, bytes.count <= Self.maximumSize else {
            throw MeasurementError(.firmwareInvalid, "\(name) is \(bytes.count) bytes; firmware must be a whole number "
                                   + "of 4 KiB pages, at most \(Self.maximumSize >> 20) MiB: give the OVMF.fd image itself")
        }
        self.bytes = bytes
        self.name = name
        self.table = try Self.footerTable(bytes, name: name)
    }

    /// The data of the footer entry `guid`, if the image has one.
    func entry(_ guid: FirmwareGUID) -> [UInt8]? { table[guid] }

    /// The first four bytes of the footer entry `guid` as a little-endian value, if present.
    func entryUInt32(_ guid: FirmwareGUID) throws -> UInt32? {
        guard let data = table[guid] else { return nil }
        guard data.count >= 4 else {
            throw MeasurementError(.firmwareInvalid, "\(name): the footer entry \(guid) holds \(data.count) bytes, "
                                   + "fewer than the 4 it must; the image is damaged, rebuild or re-download it")
        }
        return data.littleEndian(UInt32.self, at: 0)
    }

    /// The footer table, parsed from its end towards its start (an image without the footer GUID has none).
    private static func footerTable(_ bytes: [UInt8], name: String) throws -> [FirmwareGUID: [UInt8]] {
        let footerStart = bytes.count - footerEndOffset - entryHeaderSize
        guard footerStart >= 0,
              FirmwareGUID(stored: bytes[(footerStart + 2)..<(footerStart + entryHeaderSize)]) == .footerTable else {
            return [:]
        }
        let footerSize = Int(bytes.littleEndian(UInt16.self, at: footerStart))
        guard footerSize >= entryHeaderSize, footerSize - entryHeaderSize <= footerStart else {
            throw MeasurementError(.firmwareInvalid, "\(name): the GUIDed footer table claims \(footerSize) bytes, "
                                   + "more than the image holds; the image is damaged, rebuild or re-download it")
        }
        var table: [FirmwareGUID: [UInt8]] = [:]
        let tableStart = footerStart - (footerSize - entryHeaderSize)
        var end = footerStart   // the entries end here; each one's header is its last 18 bytes
        while end - tableStart >= entryHeaderSize {
            let header = end - entryHeaderSize
            let size = Int(bytes.littleEndian(UInt16.self, at: header))
            guard size >= entryHeaderSize, size <= end - tableStart else {
                throw MeasurementError(.firmwareInvalid, "\(name): a footer table entry claims \(size) bytes with "
                                       + "\(end - tableStart) left in the table; the image is damaged, rebuild or re-download it")
            }
            let guid = FirmwareGUID(stored: bytes[(header + 2)..<end])
            table[guid] = Array(bytes[(end - size)..<header])
            end -= size
        }
        return table
    }

    /// The file's bytes, refusing a missing, unreadable or oversized file before reading it whole.
    static func read(_ path: String, limit: Int = maximumSize, what: String = "firmware") throws -> [UInt8] {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw MeasurementError(.fileUnreadable, "\(what) \(path) does not exist or cannot be read; check the path")
        }
        guard attributes[.type] as? FileAttributeType != .typeDirectory else {
            throw MeasurementError(.fileUnreadable, "\(what) \(path) is a folder; give the path of the file")
        }
        if let size = attributes[.size] as? Int, size > limit {
            throw MeasurementError(.fileUnreadable, "\(what) \(path) is \(size) bytes, more than the \(limit >> 20) MiB "
                                   + "accepted; give the \(what) image itself")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MeasurementError(.fileUnreadable, "\(what) \(path) cannot be read; check its permissions")
        }
        guard data.count <= limit else {
            throw MeasurementError(.fileUnreadable, "\(what) \(path) grew past \(limit >> 20) MiB while being read")
        }
        return [UInt8](data)
    }
}
