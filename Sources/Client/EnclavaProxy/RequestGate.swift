/// Bounds the requests the proxy handles at once: one over the limit is refused at once, never queued.
actor RequestGate {
    private let limit: Int
    private var inFlight = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot; false when all `limit` are taken.
    func enter() -> Bool {
        guard inFlight < limit else { return false }
        inFlight += 1
        return true
    }

    /// Gives a slot back.
    func leave() {
        inFlight = max(0, inFlight - 1)
    }
}
