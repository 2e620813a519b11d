import Foundation

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
