import EnclaveKernels

/// `Gather(data, indices)` along `axis`: embedding lookups and shape-element picks. Any data type;
/// int64 or int32 indices, negative ones counting from the end. An index out of range is an input error.
struct GatherOperator: ExecutableOperator {
    let label: String
    let axis: Int64

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: 0)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        guard inputs[1] == .int64 || inputs[1] == .int32 else {
            throw InferenceError.malformed("\(label): indices must be int64 or int32")
        }
        return [inputs[0]!]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let data = inputs[0]!
        guard !data.isEmpty else { throw shapeError(label, "Gather needs data of rank 1 or more") }
        let a = try normalizeAxis(axis, rank: data.count, label)
        return [Array(data[..<a]) + inputs[1]! + Array(data[(a + 1)...])]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let data = inputs[0]!, indices = inputs[1]!, y = outputs[0]
        let a = try normalizeAxis(axis, rank: data.shape.count, label)
        let outer = Shape.elementCount(data.shape[..<a]) ?? 0
        let size = data.shape[a]
        let block = (Shape.elementCount(data.shape[(a + 1)...]) ?? 0) * data.dtype.byteCount
        let count = indices.count
        var resolved = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let raw = indices.dtype == .int64 ? indices.int64s[i] : Int64(indices.int32s[i])
            guard raw >= -Int64(size), raw < Int64(size) else {
                throw InferenceError(.invalidArgument, "\(label): index \(raw) is out of range for a dimension of size \(size)")
            }
            resolved[i] = Int(raw < 0 ? raw + Int64(size) : raw)
        }
        guard block > 0, let src = data.bytes.baseAddress, let dst = y.bytes.baseAddress else { return }
        var out = 0
        for o in 0..<outer {
            let base = src + o * size * block
            for index in resolved {
                (dst + out).copyMemory(from: base + index * block, byteCount: block)
                out += block
            }
        }
    }
}

/// `GatherElements(data, indices)` along `axis`.
struct GatherElementsOperator: ExecutableOperator {
    let label: String
    let axis: Int64

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: 0)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        guard inputs[1] == .int64 || inputs[1] == .int32 else {
            throw InferenceError.malformed("\(label): indices must be int64 or int32")
        }
        return [inputs[0]!]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        guard inputs[0]!.count == inputs[1]!.count else { throw shapeError(label, "data and indices must have the same rank") }
        _ = try normalizeAxis(axis, rank: inputs[0]!.count, label)
        return [inputs[1]!]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let data = inputs[0]!, indices = inputs[1]!, y = outputs[0]
        let a = try normalizeAxis(axis, rank: data.shape.count, label)
        let width = data.dtype.byteCount
        let dataStrides = Shape.contiguousStrides(data.shape)
        let shape = indices.shape
        let values = indices.integers
        var index = [Int](repeating: 0, count: shape.count)
        for linear in 0..<values.count {
            var raw = values[linear]
            if raw < 0 { raw += data.shape[a] }
            guard raw >= 0, raw < data.shape[a] else {
                throw InferenceError(.invalidArgument, "\(label): index \(values[linear]) is out of range for size \(data.shape[a])")
            }
            var offset = 0
            for d in 0..<shape.count {
                let i = d == a ? raw : index[d]
                guard i < data.shape[d] else { throw shapeError(label, "indices exceed the data's shape") }
                offset += i * dataStrides[d]
            }
            (y.bytes.baseAddress! + linear * width).copyMemory(from: data.bytes.baseAddress! + offset * width, byteCount: width)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
