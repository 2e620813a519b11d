import EnclaveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ReduceMean`, `ReduceSum`, `ReduceMax`, `ReduceMin`, `ReduceProd`, `ReduceL2`, `ReduceSumSquare`,
/// `ReduceLogSumExp` over float32 (and Sum/Max/Min over int64), with `keepdims` and
/// `noop_with_empty_axes`; axes from the attribute (opsets before 18) or input 1 (Sum from 13, all from 18).
struct ReduceOperator: ExecutableOperator {
    enum Kind: String, Sendable { case mean, sum, max, min, prod, l1, l2, sumSquare, logSum, logSumExp }
    let label: String
    let opType: String
    let kind: Kind
    let keepDims: Bool
    let noopWithEmptyAxes: Bool
    let attributeAxes: [Int64]?

    init(_ node: GraphNode, _ kind: Kind) throws {
        try node.requireArity(inputs: 1...2, outputs: 1)
        try node.requireOnlyAttributes(["axes", "keepdims", "noop_with_empty_axes"])
        label = node.label
        opType = node.opType
        self.kind = kind
        keepDims = try node.intAttribute("keepdims", default: 1) != 0
        noopWithEmptyAxes = try node.intAttribute("noop_with_empty_axes", default: 0) != 0
        attributeAxes = try node.intsAttribute("axes")
    }

    var valueInputs: [Int] { [1] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        let allowed: Set<TensorDataType> = [.sum, .max, .min, .prod].contains(kind) ? [.float32, .int64, .int32] : [.float32]
        try requireTypes([inputs[0]], allowed, label, opType)
        return [inputs[0]!]
    }

    /// Reduced axes (sorted) for an input shape.
    private func axes(_ shape: [Int], _ values: [TensorView?]) throws -> [Int] {
        let given = values.count > 1 && values[1] != nil ? values[1]!.integers.map(Int64.init) : attributeAxes
        guard let given, !given.isEmpty else { return noopWithEmptyAxes ? [] : Array(shape.indices) }
        return Array(Set(try given.map { try normalizeAxis($0, rank: shape.count, label) })).sorted()
    }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let shape = inputs[0]!
        let reduced = Set(try axes(shape, values))
        return [shape.indices.compactMap { reduced.contains($0) ? (keepDims ? 1 : nil) : shape[$0] }]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!, y = outputs[0]
        let reduced = try axes(x.shape, inputs)
        if reduced.isEmpty {
            if x.bytes.count > 0 { y.bytes.baseAddress!.copyMemory(from: x.bytes.baseAddress!, byteCount: x.bytes.count) }
            return
        }
        // Output element o reads the input at base(o) + Σ over reduced positions.
        let strides = Shape.contiguousStrides(x.shape)
        let kept = x.shape.indices.filter { !reduced.contains($0) }
        let reducedShape = reduced.map { x.shape[$0] }, reducedStrides = reduced.map { strides[$0] }
        let keptShape = kept.map { x.shape[$0] }, keptStrides = kept.map { strides[$0] }
        let inner = Shape.elementCount(reducedShape) ?? 0
        // Offsets of the reduced positions, relative to an output element's base.
        var relative = [Int](repeating: 0, count: inner)
        var index = [Int](repeating: 0, count: reducedShape.count)
        for r in 0..<inner {
            relative[r] = zip(index, reducedStrides).reduce(0) { $0 + $1.0 * $1.1 }
            var d = index.count - 1
            while d >= 0 { index[d] += 1; if index[d] < reducedShape[d] { break }; index[d] = 0; d -= 1 }
        }
        let outCount = Shape.elementCount(keptShape) ?? 0
        // A reduction over the trailing contiguous axes of a float tensor goes to the row kernels.
        let trailing = reduced == Array((x.shape.count - reduced.count)..<x.shape.count)
        if trailing, x.dtype == .float32, inner > 0, [.sum, .mean, .max].contains(kind) {
            kernels.reduce(kind == .sum ? .sum : (kind == .mean ? .mean : .max), rows: outCount, cols: inner, x: x.floats, y: y.floats)
            return
        }
        var keptIndex = [Int](repeating: 0, count: keptShape.count)
        for o in 0..<outCount {
            let base = zip(keptIndex, keptStrides).reduce(0) { $0 + $1.0 * $1.1 }
            switch x.dtype {
            case .float32: y.floats[o] = Self.reduceFloat(kind, x.floats, base, relative)
            case .int64: y.int64s[o] = Self.reduceInteger(kind, x.int64s, base, relative)
            default: y.int32s[o] = Self.reduceInteger(kind, x.int32s, base, relative)
            }
            var d = keptIndex.count - 1
            while d >= 0 { keptIndex[d] += 1; if keptIndex[d] < keptShape[d] { break }; keptIndex[d] = 0; d -= 1 }
        }
    }

    private static func reduceFloat(_ kind: Kind, _ x: UnsafeBufferPointer<Float>, _ base: Int, _ relative: [Int]) -> Float {
        switch kind {
        case .max: return relative.reduce(-Float.infinity) { a, r in let v = x[base + r]; return (a.isNaN || v.isNaN) ? .nan : Swift.max(a, v) }
        case .min: return relative.reduce(Float.infinity) { a, r in let v = x[base + r]; return (a.isNaN || v.isNaN) ? .nan : Swift.min(a, v) }
        case .prod: return relative.reduce(1) { $0 * x[base + $1] }
        case .logSumExp:
            let top = relative.reduce(-Float.infinity) { Swift.max($0, x[base + $1]) }
            if !top.isFinite { return logf(relative.reduce(0) { $0 + expf(x[base + $1]) }) }
            return top + logf(relative.reduce(0) { $0 + expf(x[base + $1] - top) })
        default:
            var sum: Double = 0
            for r in relative {
                let v = Double(x[base + r])
                switch kind {
                case .l1: sum += Swift.abs(v)
                case .l2, .sumSquare: sum += v * v
                default: sum += v
                }
            }
            switch kind {
            case .mean: return Float(sum / Double(Swift.max(relative.count, 1)))
            case .l2: return Float(sum.squareRoot())
            case .logSum: return Float(log(sum))
            default: return Float(sum)
            }
        }
    }

    private static func reduceInteger<T: FixedWidthInteger>(_ kind: Kind, _ x: UnsafeBufferPointer<T>, _ base: Int, _ relative: [Int]) -> T {
        switch kind {
        case .max: return relative.reduce(T.min) { Swift.max($0, x[base + $1]) }
        case .min: return relative.reduce(T.max) { Swift.min($0, x[base + $1]) }
        case .prod: return relative.reduce(1) { $0 &* x[base + $1] }
        default: return relative.reduce(0) { $0 &+ x[base + $1] }
        }
    }
}

/// `ArgMax` / `ArgMin` (axis, keepdims, select_last_index) over float32, int64, int32; int64 results.
struct ArgReduceOperator: ExecutableOperator {
    let label: String
    let isMax: Bool
    let axis: Int64
    let keepDims: Bool
    let selectLast: Bool

    init(_ node: GraphNode, max: Bool) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["axis", "keepdims", "select_last_index"])
        label = node.label
        isMax = max
        axis = try node.intAttribute("axis", default: 0)
        keepDims = try node.intAttribute("keepdims", default: 1) != 0
        selectLast = try node.intAttribute("select_last_index", default: 0) != 0
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, [.float32, .int64, .int32], label, isMax ? "ArgMax" : "ArgMin")
        return [.int64]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        var shape = inputs[0]!
        let a = try normalizeAxis(axis, rank: shape.count, label)
        guard shape[a] > 0 else { throw shapeError(label, "cannot take the arg-extremum of an empty axis") }
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!, y = outputs[0].int64s
        let a = try normalizeAxis(axis, rank: x.shape.count, label)
        let outer = Shape.elementCount(x.shape[..<a]) ?? 0, n = x.shape[a], inner = Shape.elementCount(x.shape[(a + 1)...]) ?? 0
        let values: [Double] = (0..<x.count).map { x.scalar($0) }
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var bestValue = values[o * n * inner + i]
                for k in 1..<max(n, 1) {
                    let v = values[(o * n + k) * inner + i]
                    let better = isMax ? (v > bestValue || (selectLast && v == bestValue)) : (v < bestValue || (selectLast && v == bestValue))
                    if better { best = k; bestValue = v }
                }
                y[o * inner + i] = Int64(best)
            }
        }
    }
}
