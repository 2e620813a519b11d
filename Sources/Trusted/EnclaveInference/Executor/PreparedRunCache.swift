import Synchronization

/// The planning passes of recent requests, by input shapes: a request whose shapes were seen before skips
/// shape inference, planned values and memory planning. Holds shapes and small integer values derived
/// from shapes only (never a request's data); at most ``capacity`` entries, the oldest dropped first.
final class PreparedRunCache: Sendable {
    let capacity: Int
    private let entries = Mutex<(order: [[[Int]]], runs: [[[Int]]: GraphExecutor.Prepared])>(([], [:]))

    init(capacity: Int = 32) {
        self.capacity = capacity
    }

    func lookup(_ shapes: [[Int]]) -> GraphExecutor.Prepared? {
        entries.withLock { $0.runs[shapes] }
    }

    func insert(_ prepared: GraphExecutor.Prepared, for shapes: [[Int]]) {
        entries.withLock { state in
            guard state.runs[shapes] == nil else { return }
            if state.order.count >= capacity {
                state.runs[state.order.removeFirst()] = nil
            }
            state.order.append(shapes)
            state.runs[shapes] = prepared
        }
    }
}
