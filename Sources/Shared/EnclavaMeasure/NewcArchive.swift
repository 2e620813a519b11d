/// A reproducible cpio archive in the "newc" format the Linux kernel unpacks as an initramfs: entries sorted
/// by path, every mtime 0, owner and group 0, inode numbers in order, so equal inputs give equal bytes.
public struct NewcArchive: Sendable {
    /// One archive member.
    public enum Member: Sendable, Equatable {
        /// A folder (mode 0755).
        case directory
        /// A folder only its owner may enter (mode 0700).
        case privateDirectory
        /// A regular file with its mode (e.g. 0o755 for an executable).
        case file([UInt8], mode: UInt32)
        /// A symbolic link to `target`.
        case symlink(String)
    }

    private var members: [String: Member] = [:]

    /// An empty archive.
    public init() {}

    /// Adds `member` at `path` (relative, no leading slash), and the folders above it that are not there yet
    /// (as `folders`: ``Member/directory`` or ``Member/privateDirectory``).
    public mutating func add(_ path: String, _ member: Member, folders: Member = .directory) {
        precondition(!path.hasPrefix("/") && !path.isEmpty && !path.split(separator: "/").contains(".."))
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent = parent.isEmpty ? String(component) : parent + "/" + component
            if members[parent] == nil { members[parent] = folders }
        }
        members[path] = member
    }

    /// The archive bytes, ending with the `TRAILER!!!` entry.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var inode: UInt32 = 1
        for path in members.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let (mode, data): (UInt32, [UInt8]) = switch members[path]! {
            case .directory: (0o040755, [])
            case .privateDirectory: (0o040700, [])
            case .file(let bytes, let mode): (0o100000 | (mode & 0o7777), bytes)
            case .symlink(let target): (0o120777, Array(target.utf8))
            }
            Self.append(&out, name: path, inode: inode, mode: mode, links: members[path] == .directory || members[path] == .privateDirectory ? 2 : 1, data: data)
            inode += 1
        }
        Self.append(&out, name: "TRAILER!!!", inode: 0, mode: 0, links: 1, data: [])
        return out
    }

    /// One entry: the 110-byte header (magic 070701, then 13 fields of 8 hex digits), the NUL-terminated name
    /// padded to 4 bytes, the data padded to 4 bytes.
    private static func append(_ out: inout [UInt8], name: String, inode: UInt32, mode: UInt32, links: UInt32, data: [UInt8]) {
        let nameBytes = Array(name.utf8) + [0]
        let fields: [UInt32] = [inode, mode, 0, 0, links, 0, UInt32(data.count), 0, 0, 0, 0, UInt32(nameBytes.count), 0]
        out += Array("070701".utf8)
        for field in fields {
            let hex = String(field, radix: 16, uppercase: true)
            out += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
        }
        out += nameBytes
        while out.count % 4 != 0 { out.append(0) }
        out += data
        while out.count % 4 != 0 { out.append(0) }
    }
}

/// A gzip member (RFC 1952) with a fixed header — no name, mtime 0, OS unknown — holding the data in stored
/// deflate blocks (RFC 1951 §3.2.4): byte-identical for equal input on every machine and zlib version.
public enum StoredGzip {
    /// The gzip bytes of `data`.
    public static func compress(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let final = offset + count == data.count
            out.append(final ? 1 : 0)
            out.appendLittleEndian(UInt16(count))
            out.appendLittleEndian(~UInt16(count))
            out += data[offset..<(offset + count)]
            offset += count
        } while offset < data.count
        out.appendLittleEndian(crc32(data))
        out.appendLittleEndian(UInt32(truncatingIfNeeded: data.count))
        return out
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// CRC-32 (IEEE 802.3), as gzip stores it.
    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }
}
