import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// This process's memory map as `/proc/self/smaps` describes it, for tests that check where secrets live
/// (DESIGN.md §5): which mapping holds an address, its `VmFlags` (`lo` locked, `dd` not dumped,
/// `wf` wiped on fork) and its `Locked:` size.
public struct ProcessMemoryMap: Sendable {
    /// One mapping of `/proc/self/smaps`.
    public struct Mapping: Sendable, Equatable {
        /// First byte.
        public var start: UInt
        /// One past the last byte.
        public var end: UInt
        /// The two-letter flags of `VmFlags:` (`rd`, `wr`, `lo`, `dd`, `wf`, …).
        public var flags: Set<String>
        /// `Locked:` in kB.
        public var lockedKiB: Int

        /// Whether the mapping is locked (`lo`) with locked pages, excluded from dumps (`dd`) and wiped on
        /// fork (`wf`): what DESIGN.md §5 asks of memory holding secrets.
        public var isSecretMemory: Bool {
            flags.isSuperset(of: ["lo", "dd", "wf"]) && lockedKiB > 0
        }
    }

    /// The mappings, in address order.
    public let mappings: [Mapping]

    /// Reads `/proc/self/smaps` now.
    /// - Throws: when the file cannot be read (not Linux).
    public init() throws {
        // /proc files report size 0, so read the handle to its end rather than by the file's size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps") else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var result: [Mapping] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let range = Self.addressRange(line) {
                result.append(Mapping(start: range.0, end: range.1, flags: [], lockedKiB: 0))
            } else if line.hasPrefix("VmFlags:"), !result.isEmpty {
                result[result.count - 1].flags = Set(line.dropFirst("VmFlags:".count).split(separator: " ").map(String.init))
            } else if line.hasPrefix("Locked:"), !result.isEmpty {
                let fields = line.split(separator: " ")
                result[result.count - 1].lockedKiB = fields.count >= 2 ? Int(fields[1]) ?? 0 : 0
            }
        }
        mappings = result
    }

    /// The mapping that holds `address`, or nil.
    public func mapping(containing address: UnsafeRawPointer) -> Mapping? {
        let value = UInt(bitPattern: address)
        return mappings.first { $0.start <= value && value < $0.end }
    }

    /// Where `needle` occurs in this process's readable memory that is NOT locked (`lo`): what could reach
    /// swap. Reads through /proc/self/mem, so a mapping unmapped meanwhile reads as an error, never a crash.
    /// The caller keeps its own copy of `needle` in locked memory, or it finds itself.
    /// - Returns: the addresses of the mappings where it was found.
    public func unlockedMappings(containing needle: UnsafeRawBufferPointer) -> [UInt] {
        guard let needleBase = needle.baseAddress, needle.count > 0 else { return [] }
        let fd = open("/proc/self/mem", O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk + needle.count, alignment: 16)
        defer {
            memset(buffer, 0, chunk + needle.count)
            buffer.deallocate()
        }
        var found: [UInt] = []
        for mapping in mappings where mapping.flags.contains("rd") && !mapping.flags.contains("lo")
            && !mapping.flags.contains("io") && mapping.end <= UInt(Int64.max) {
            var offset = mapping.start
            scan: while offset < mapping.end {
                let length = Int(min(UInt(chunk + needle.count - 1), mapping.end - offset))
                let read = pread(fd, buffer, length, off_t(Int64(bitPattern: UInt64(offset))))
                guard read > 0 else { break }
                if Self.find(needleBase, needle.count, in: buffer, read) {
                    found.append(mapping.start)
                    break scan
                }
                offset += UInt(chunk)
            }
        }
        return found
    }

    /// Whether `count` bytes at `needle` occur in `length` bytes at `haystack` (memchr for the first byte,
    /// then memcmp).
    private static func find(_ needle: UnsafeRawPointer, _ count: Int, in haystack: UnsafeRawPointer, _ length: Int) -> Bool {
        guard length >= count else { return false }
        let first = Int32(needle.load(as: UInt8.self))
        var position = haystack
        let last = haystack + (length - count)
        while position <= last {
            guard let hit = memchr(position, first, last - position + 1) else { return false }
            if memcmp(hit, needle, count) == 0 { return true }
            position = UnsafeRawPointer(hit) + 1
        }
        return false
    }

    /// `7f12a000-7f12b000 rw-p …` → (start, end); nil for the other lines.
    private static func addressRange(_ line: Substring) -> (UInt, UInt)? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let range = line[..<space]
        guard let dash = range.firstIndex(of: "-"),
              let start = UInt(range[..<dash], radix: 16),
              let end = UInt(range[range.index(after: dash)...], radix: 16) else { return nil }
        return (start, end)
    }
}
