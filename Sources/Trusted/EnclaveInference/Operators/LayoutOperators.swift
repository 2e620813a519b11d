import EnclaveKernels

/// `Transpose(perm)`, any element type.
struct TransposeOperator: ExecutableOperator {
    let label: String
    let perm: [Int]?

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["perm"])
        label = node.label
        perm = try node.intsAttribute("perm")?.map { Int($0) }
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    private func permutation(_ rank: Int) throws -> [Int] {
        guard let perm else { return Array((0..<rank).reversed()) }
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw shapeError(label, "perm \(perm) does not fit a rank-\(rank) input")
        }
        return perm
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let shape = inputs[0]!
        return [try permutation(shape.count).map { shape[$0] }]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!, y = outputs[0]
        let p = try permutation(x.shape.count)
        let strides = Shape.contiguousStrides(x.shape)
        DataCopy.strided(x.bytes, base: 0, strides: p.map { strides[$0] }, shape: y.shape, into: y.bytes, width: x.dtype.byteCount)
    }
}

/// `Slice(data, starts, ends, axes, steps)` (opset 13), any element type.
struct SliceOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 3...5, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    var valueInputs: [Int] { [1, 2, 3, 4] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    /// Per input dimension: first index, step and count.
    private func geometry(_ shape: [Int], _ values: [TensorView?]) throws -> [(start: Int, step: Int, count: Int)] {
        let starts = values[1]!.integers, ends = values[2]!.integers
        let axes = values.count > 3 ? values[3]?.integers : nil
        let steps = values.count > 4 ? values[4]?.integers : nil
        let rank = shape.count
        let axisList = try (axes ?? Array(0..<starts.count)).map { try normalizeAxis(Int64($0), rank: rank, label) }
        guard ends.count == starts.count, axisList.count == starts.count, (steps?.count ?? starts.count) == starts.count,
              Set(axisList).count == axisList.count else {
            throw shapeError(label, "starts, ends, axes and steps must have one entry per sliced axis")
        }
        var result = shape.map { (start: 0, step: 1, count: $0) }
        for (k, axis) in axisList.enumerated() {
            let n = shape[axis]
            let step = steps?[k] ?? 1
            guard step != 0 else { throw shapeError(label, "a step is 0") }
            var start = starts[k], end = ends[k]
            if start < 0 { start += n }
            if end < 0 { end += n }
            if step > 0 {
                start = min(max(start, 0), n)
                end = min(max(end, 0), n)
                result[axis] = (start, step, end > start ? (end - start + step - 1) / step : 0)
            } else {
                start = min(max(start, -1), n - 1)
                end = min(max(end, -1), n - 1)
                result[axis] = (start, step, start > end ? (start - end - step - 1) / -step : 0)
            }
        }
        return result
    }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        [try geometry(inputs[0]!, values).map(\.count)]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!, y = outputs[0]
        let g = try geometry(x.shape, inputs)
        let strides = Shape.contiguousStrides(x.shape)
        let base = zip(g, strides).reduce(0) { $0 + $1.0.start * $1.1 }
        DataCopy.strided(x.bytes, base: base, strides: zip(g, strides).map { $0.step * $1 }, shape: y.shape,
                         into: y.bytes, width: x.dtype.byteCount)
    }
}

/// `Concat(axis)`, any element type.
struct ConcatOperator: ExecutableOperator {
    let label: String
    let axis: Int64

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...4096, outputs: 1)
        try node.requireAllInputsPresent()
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: 0)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [try requireSameType(inputs, label)] }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let first = inputs[0]!
        let a = try normalizeAxis(axis, rank: first.count, label)
        var shape = first
        shape[a] = 0
        for input in inputs.map({ $0! }) {
            guard input.count == first.count, input.indices.allSatisfy({ $0 == a || input[$0] == first[$0] }) else {
                throw shapeError(label, "shapes \(inputs.map { Shape.text($0!) }) do not fit together along axis \(a)")
            }
            shape[a] += input[a]
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let y = outputs[0]
        let a = try normalizeAxis(axis, rank: y.shape.count, label)
        let outer = Shape.elementCount(y.shape[..<a]) ?? 0
        let inner = (Shape.elementCount(y.shape[(a + 1)...]) ?? 0) * y.dtype.byteCount
        guard let dst = y.bytes.baseAddress else { return }
        var out = 0
        for o in 0..<outer {
            for x in inputs.map({ $0! }) {
                let block = x.shape[a] * inner
                if block > 0 { (dst + out).copyMemory(from: x.bytes.baseAddress! + o * block, byteCount: block) }
                out += block
            }
        }
    }
}

/// `Split(input, split)` along `axis` (opset 13; `num_outputs` from opset 18), any element type.
struct SplitOperator: ExecutableOperator {
    let label: String
    let axis: Int64
    let outputCount: Int

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...2, outputs: 1...4096)
        try node.requireOnlyAttributes(["axis", "num_outputs"])
        label = node.label
        axis = try node.intAttribute("axis", default: 0)
        outputCount = node.outputs.count
    }

    var valueInputs: [Int] { [1] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { Array(repeating: inputs[0]!, count: outputCount) }

    private func sizes(_ shape: [Int], _ values: [TensorView?]) throws -> (axis: Int, sizes: [Int]) {
        let a = try normalizeAxis(axis, rank: shape.count, label)
        let n = shape[a]
        if values.count > 1, let split = values[1] {
            let sizes = split.integers
            guard sizes.count == outputCount, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == n else {
                throw shapeError(label, "split \(sizes) does not divide a dimension of \(n) into \(outputCount) parts")
            }
            return (a, sizes)
        }
        let chunk = (n + outputCount - 1) / outputCount
        return (a, (0..<outputCount).map { max(0, min(chunk, n - $0 * chunk)) })
    }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let shape = inputs[0]!
        let (a, sizes) = try sizes(shape, values)
        return sizes.map { size in
            var s = shape
            s[a] = size
            return s
        }
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!
        let (a, sizes) = try sizes(x.shape, inputs)
        let outer = Shape.elementCount(x.shape[..<a]) ?? 0
        let inner = (Shape.elementCount(x.shape[(a + 1)...]) ?? 0) * x.dtype.byteCount
        guard let src = x.bytes.baseAddress else { return }
        var offset = 0
        for o in 0..<outer {
            for (k, y) in outputs.enumerated() {
                let block = sizes[k] * inner
                if block > 0 { (y.bytes.baseAddress! + o * block).copyMemory(from: src + offset, byteCount: block) }
                offset += block
            }
        }
    }
}

/// `Tile(input, repeats)`, any element type.
struct TileOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    var valueInputs: [Int] { [1] }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [inputs[0]!] }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        let shape = inputs[0]!, repeats = values[1]!.integers
        guard repeats.count == shape.count, repeats.allSatisfy({ $0 >= 0 }) else {
            throw shapeError(label, "repeats \(repeats) do not fit \(Shape.text(shape))")
        }
        var result: [Int] = []
        for (d, r) in zip(shape, repeats) {
            let (p, o) = d.multipliedReportingOverflow(by: r)
            guard !o else { throw shapeError(label, "the result is too large") }
            result.append(p)
        }
        return [result]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!, y = outputs[0]
        let width = x.dtype.byteCount
        let strides = Shape.contiguousStrides(x.shape)
        var index = [Int](repeating: 0, count: y.shape.count)
        for linear in 0..<y.count {
            var offset = 0
            for d in index.indices { offset += (index[d] % x.shape[d]) * strides[d] }
            (y.bytes.baseAddress! + linear * width).copyMemory(from: x.bytes.baseAddress! + offset * width, byteCount: width)
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < y.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
