/// A dictionary of at most `capacity` entries that evicts the least recently used entry when full.
struct LRUTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var lastUse: UInt64
    }

    /// The most entries kept.
    let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "LRUTable needs a positive capacity")
        self.capacity = capacity
    }

    /// Number of entries.
    var count: Int { entries.count }

    /// Whether `key` has an entry (does not count as a use).
    func contains(_ key: Key) -> Bool { entries[key] != nil }

    /// Inserts or replaces the entry for `key`, evicting the least recently used one when full.
    /// - Returns: the evicted key, if any.
    @discardableResult
    mutating func insert(_ value: Value, for key: Key) -> Key? {
        clock &+= 1
        var evicted: Key?
        if entries[key] == nil, entries.count >= capacity,
           let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries.removeValue(forKey: oldest)
            evicted = oldest
        }
        entries[key] = Entry(value: value, lastUse: clock)
        return evicted
    }

    /// Calls `body` with the entry for `key` (counting as a use), or returns nil when there is none.
    mutating func update<R>(_ key: Key, _ body: (inout Value) throws -> R) rethrows -> R? {
        guard var entry = entries.removeValue(forKey: key) else { return nil }
        clock &+= 1
        entry.lastUse = clock
        defer { entries[key] = entry }
        return try body(&entry.value)
    }

    /// Removes every entry.
    mutating func removeAll() { entries.removeAll() }
}
