import EnclaveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `Shape` (with `start`/`end`, opset 15) and `Size`: int64 values computed from the input's shape alone.
struct ShapeOperator: ExecutableOperator {
    let label: String
    let isSize: Bool
    let start: Int64
    let end: Int64?

    init(_ node: GraphNode, size: Bool) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(size ? [] : ["start", "end"])
        label = node.label
        isSize = size
        start = try node.intAttribute("start", default: 0)
        end = node.attributes["end"] == nil ? nil : try node.intAttribute("end", default: 0)
    }

    var readsInputData: Bool { false }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [.int64] }

    private func range(_ rank: Int) -> Range<Int> {
        func clamp(_ v: Int64) -> Int { Swift.min(Swift.max(v < 0 ? Int(v) + rank : Int(v), 0), rank) }
        let lower = clamp(start), upper = clamp(end ?? Int64(rank))
        return lower..<Swift.max(lower, upper)
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        isSize ? [[]] : [[range(inputs[0]!.count).count]]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let shape = inputs[0]!.shape
        let y = outputs[0].int64s
        if isSize {
            y[0] = Int64(Shape.elementCount(shape) ?? 0)
        } else {
            for (i, d) in range(shape.count).enumerated() { y[i] = Int64(shape[d]) }
        }
    }
}

/// `Reshape` (with `allowzero`): a view of the input under the shape given by input 1. No copy.
struct ReshapeOperator: ExecutableOperator {
    let label: String
    let allowZero: Bool

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes(["allowzero"])
        label = node.label
        allowZero = try node.intAttribute("allowzero", default: 0) != 0
    }

    var valueInputs: [Int] { [1] }
    var aliases: [Int: Int] { [0: 0] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        guard inputs[1] == .int64 else { throw InferenceError.malformed("\(label): the shape must be int64") }
        return [inputs[0]!]
    }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let input = inputs[0]!
        let requested = values[1]!.integers
        let total = try checkedCount(input, label)
        var shape: [Int] = []
        var inferred: Int?
        for (index, value) in requested.enumerated() {
            switch value {
            case -1:
                guard inferred == nil else { throw shapeError(label, "more than one -1 in \(requested)") }
                inferred = index
                shape.append(1)
            case 0 where !allowZero:
                guard index < input.count else { throw shapeError(label, "0 at position \(index) but the input has rank \(input.count)") }
                shape.append(input[index])
            case let v where v < 0:
                throw shapeError(label, "negative dimension \(v) in \(requested)")
            default:
                shape.append(value)
            }
        }
        guard let known = Shape.elementCount(shape) else { throw shapeError(label, "shape \(requested) is too large") }
        if let inferred {
            guard known > 0, total % known == 0 else {
                throw shapeError(label, "cannot reshape \(Shape.text(input)) to \(requested)")
            }
            shape[inferred] = total / known
        }
        guard Shape.elementCount(shape) == total else {
            throw shapeError(label, "cannot reshape \(Shape.text(input)) (\(total) elements) to \(Shape.text(shape))")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {}
}

/// `Unsqueeze` and `Squeeze` (opset 13: axes as input 1, optional for Squeeze). Views, no copy.
struct SqueezeOperator: ExecutableOperator {
    let label: String
    let unsqueeze: Bool

    init(_ node: GraphNode, unsqueeze: Bool) throws {
        try node.requireArity(inputs: unsqueeze ? 2...2 : 1...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
        self.unsqueeze = unsqueeze
    }

    var valueInputs: [Int] { [1] }
    var aliases: [Int: Int] { [0: 0] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let input = inputs[0]!
        let axes = values.count > 1 ? values[1]?.integers : nil
        if unsqueeze {
            let rank = input.count + (axes?.count ?? 0)
            let normalized = try (axes ?? []).map { try normalizeAxis(Int64($0), rank: rank, label) }
            guard Set(normalized).count == normalized.count else { throw InferenceError.malformed("\(label): repeated axes \(axes ?? [])") }
            var shape: [Int] = []
            var source = input.makeIterator()
            for index in 0..<rank { shape.append(normalized.contains(index) ? 1 : source.next()!) }
            return [shape]
        }
        guard let axes else { return [input.filter { $0 != 1 }] }
        let normalized = Set(try axes.map { try normalizeAxis(Int64($0), rank: input.count, label) })
        for axis in normalized where input[axis] != 1 {
            throw shapeError(label, "cannot squeeze axis \(axis) of size \(input[axis]) in \(Shape.text(input))")
        }
        return [input.indices.filter { !normalized.contains($0) }.map { input[$0] }]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {}
}

/// `Expand`: broadcasts the input to a shape given by input 1 (numpy rules, both ways).
struct ExpandOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    var valueInputs: [Int] { [1] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let requested = values[1]!.integers
        guard requested.allSatisfy({ $0 >= 0 }), let shape = Broadcast.shape(inputs[0]!, requested) else {
            throw shapeError(label, "\(Shape.text(inputs[0]!)) cannot be expanded to \(requested)")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        DataCopy.broadcast(inputs[0]!, into: outputs[0])
    }
}

/// `ConstantOfShape`: a tensor of the shape given by input 0, filled with the `value` attribute (default 0.0).
struct ConstantOfShapeOperator: ExecutableOperator {
    let label: String
    let dtype: TensorDataType
    let value: [UInt8]

    init(_ node: GraphNode, weights: WeightStore) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["value"])
        label = node.label
        switch node.attributes["value"] {
        case nil:
            dtype = .float32
            value = [0, 0, 0, 0]
        case .tensor(let weight)?:
            guard weight.byteCount == weight.dtype.byteCount else {
                throw InferenceError.malformed("\(node.label): value must hold one element")
            }
            dtype = weight.dtype
            value = Array(weights.bytes(weight))
        case .unsupported(let why)?:
            throw InferenceError(.unsupportedDataType, "\(node.label): \(why)")
        default:
            throw InferenceError.malformed("\(node.label): value must be a tensor")
        }
    }

    var valueInputs: [Int] { [0] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [dtype] }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let shape = values[0]!.integers
        guard shape.allSatisfy({ $0 >= 0 }) else { throw shapeError(label, "negative dimension in \(shape)") }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let y = outputs[0].bytes
        let width = value.count
        value.withUnsafeBytes { v in
            for i in 0..<(y.count / width) { (y.baseAddress! + i * width).copyMemory(from: v.baseAddress!, byteCount: width) }
        }
    }
}

/// `Range(start, limit, delta)`: float32, int64 or int32.
struct RangeOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 3...3, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    var valueInputs: [Int] { [0, 1, 2] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, [.float32, .int64, .int32], label, "Range")
        return [try requireSameType(inputs, label)]
    }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        for v in values { guard v!.count == 1 else { throw shapeError(label, "start, limit and delta must be scalars") } }
        let (start, limit, delta) = (values[0]!.scalar(), values[1]!.scalar(), values[2]!.scalar())
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else { throw shapeError(label, "delta must be non-zero and finite") }
        let count = Swift.max(ceil((limit - start) / delta), 0)
        guard count < Double(1 << 40) else { throw shapeError(label, "the range has too many elements") }
        return [[Int(count)]]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let y = outputs[0]
        switch y.dtype {
        case .float32:
            let start = inputs[0]!.floats[0], delta = inputs[2]!.floats[0]
            let p = y.floats
            for i in 0..<p.count { p[i] = start + Float(i) * delta }
        case .int64:
            let start = inputs[0]!.int64s[0], delta = inputs[2]!.int64s[0]
            let p = y.int64s
            for i in 0..<p.count { p[i] = start &+ Int64(i) &* delta }
        default:
            let start = inputs[0]!.int32s[0], delta = inputs[2]!.int32s[0]
            let p = y.int32s
            for i in 0..<p.count { p[i] = start &+ Int32(truncatingIfNeeded: i) &* delta }
        }
    }
}
