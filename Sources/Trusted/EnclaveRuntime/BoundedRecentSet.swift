/// A set that remembers at most `capacity` elements; inserting into a full set forgets the oldest.
/// Used for the evidence digests the enclave issued recently.
struct BoundedRecentSet<Element: Hashable & Sendable>: Sendable {
    /// The most elements kept.
    let capacity: Int
    private var members: Set<Element> = []
    private var order: [Element] = []
    private var head = 0

    init(capacity: Int) {
        precondition(capacity > 0, "BoundedRecentSet needs a positive capacity")
        self.capacity = capacity
        order.reserveCapacity(capacity)
    }

    /// Number of elements remembered.
    var count: Int { members.count }

    /// Whether `element` is remembered.
    func contains(_ element: Element) -> Bool { members.contains(element) }

    /// Remembers `element` (a repeated element is not stored twice).
    mutating func insert(_ element: Element) {
        guard !members.contains(element) else { return }
        if order.count < capacity {
            order.append(element)
        } else {
            members.remove(order[head])
            order[head] = element
            head = (head + 1) % capacity
        }
        members.insert(element)
    }
}
