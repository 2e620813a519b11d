/// numpy-style (ONNX "multidirectional") broadcasting.
enum Broadcast {
    /// The broadcast shape of `a` and `b`, or nil when a pair of dimensions differs and neither is 1.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for index in 0..<rank {
            let da = index < rank - a.count ? 1 : a[index - (rank - a.count)]
            let db = index < rank - b.count ? 1 : b[index - (rank - b.count)]
            if da == db || db == 1 {
                result[index] = da
            } else if da == 1 {
                result[index] = db
            } else {
                return nil
            }
        }
        return result
    }

    /// Whether `shape` broadcasts to exactly `target` without changing `target` ("unidirectional").
    static func isUnidirectional(_ shape: [Int], to target: [Int]) -> Bool {
        guard shape.count <= target.count else { return false }
        let offset = target.count - shape.count
        return shape.indices.allSatisfy { shape[$0] == 1 || shape[$0] == target[$0 + offset] }
    }

    /// Element strides of a contiguous tensor of `shape` read as `output` (right-aligned; 0 where broadcast).
    static func strides(of shape: [Int], in output: [Int]) -> [Int] {
        let own = Shape.contiguousStrides(shape)
        let offset = output.count - shape.count
        return output.indices.map { index in
            let source = index - offset
            guard source >= 0, shape[source] != 1 else { return 0 }
            return own[source]
        }
    }
}

/// Walks a contiguous output in runs along its (coalesced) innermost dimension, giving each run's offsets
/// into two broadcast operands. The kernels handle one run at a time with per-operand increments.
struct BroadcastLoop {
    private var outerShape: [Int] = []
    private var outerStridesA: [Int] = []
    private var outerStridesB: [Int] = []
    /// Elements per run.
    private(set) var innerCount = 1
    /// Increment of operand A / B inside a run (0 = broadcast one element).
    private(set) var innerStrideA = 0
    private(set) var innerStrideB = 0
    private let isEmpty: Bool

    /// - Parameters:
    ///   - output: the output shape.
    ///   - stridesA, stridesB: each operand's strides over `output` (from ``Broadcast/strides(of:in:)``).
    init(output: [Int], stridesA: [Int], stridesB: [Int]) {
        isEmpty = output.contains(0)
        // Drop size-1 dimensions, then merge neighbours that are contiguous for both operands.
        var dims: [(size: Int, a: Int, b: Int)] = []
        for index in output.indices where output[index] != 1 {
            let next = (size: output[index], a: stridesA[index], b: stridesB[index])
            if let last = dims.last, last.a == next.a * next.size, last.b == next.b * next.size {
                dims[dims.count - 1] = (last.size * next.size, next.a, next.b)
            } else {
                dims.append(next)
            }
        }
        if let inner = dims.popLast() {
            innerCount = inner.size
            innerStrideA = inner.a
            innerStrideB = inner.b
        }
        outerShape = dims.map(\.size)
        outerStridesA = dims.map(\.a)
        outerStridesB = dims.map(\.b)
    }

    /// Calls `body(offsetA, offsetB, offsetOutput)` for every run, in output order.
    func forEachRun(_ body: (Int, Int, Int) -> Void) {
        guard !isEmpty else { return }
        var index = [Int](repeating: 0, count: outerShape.count)
        var offsetA = 0, offsetB = 0, offsetOutput = 0
        while true {
            body(offsetA, offsetB, offsetOutput)
            offsetOutput += innerCount
            // Advance the odometer over the outer dimensions.
            var dimension = outerShape.count - 1
            while dimension >= 0 {
                index[dimension] += 1
                offsetA += outerStridesA[dimension]
                offsetB += outerStridesB[dimension]
                if index[dimension] < outerShape[dimension] { break }
                offsetA -= outerStridesA[dimension] * outerShape[dimension]
                offsetB -= outerStridesB[dimension] * outerShape[dimension]
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { return }
        }
    }
}
