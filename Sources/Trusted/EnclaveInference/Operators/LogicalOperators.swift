import EnclaveKernels

/// `Equal`, `Less`, `Greater`, `LessOrEqual`, `GreaterOrEqual`: bool results, numpy broadcasting; inputs of
/// one type (float32, int64, int32, or bool for Equal).
struct CompareOperator: ExecutableOperator {
    enum Kind: Sendable { case equal, less, greater, lessOrEqual, greaterOrEqual }
    let label: String
    let opType: String
    let kind: Kind

    init(_ node: GraphNode, _ kind: Kind) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
        opType = node.opType
        self.kind = kind
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        _ = try requireSameType(inputs, label)
        return [.bool]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        guard let shape = Broadcast.shape(inputs[0]!, inputs[1]!) else {
            throw shapeError(label, "shapes \(Shape.text(inputs[0]!)) and \(Shape.text(inputs[1]!)) do not broadcast")
        }
        return [shape]
    }

    private static func compare<T: Comparable>(_ kind: Kind, _ a: T, _ b: T) -> UInt8 {
        switch kind {
        case .equal: return a == b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .lessOrEqual: return a <= b ? 1 : 0
        case .greaterOrEqual: return a >= b ? 1 : 0
        }
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        let kind = self.kind
        switch a.dtype {
        case .float32: Elementwise.binary(a.floats, a.shape, b.floats, b.shape, y.bools, y.shape) { Self.compare(kind, $0, $1) }
        case .int64: Elementwise.binary(a.int64s, a.shape, b.int64s, b.shape, y.bools, y.shape) { Self.compare(kind, $0, $1) }
        case .int32: Elementwise.binary(a.int32s, a.shape, b.int32s, b.shape, y.bools, y.shape) { Self.compare(kind, $0, $1) }
        case .bool: Elementwise.binary(a.bools, a.shape, b.bools, b.shape, y.bools, y.shape) { Self.compare(kind, $0 != 0 ? 1 : 0 as UInt8, $1 != 0 ? 1 : 0 as UInt8) }
        }
    }
}

/// `And`, `Or`, `Xor` on bool tensors, numpy broadcasting.
struct LogicOperator: ExecutableOperator {
    enum Kind: Sendable { case and, or, xor }
    let label: String
    let opType: String
    let kind: Kind

    init(_ node: GraphNode, _ kind: Kind) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
        opType = node.opType
        self.kind = kind
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, [.bool], label, opType)
        return [.bool]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        guard let shape = Broadcast.shape(inputs[0]!, inputs[1]!) else {
            throw shapeError(label, "shapes \(Shape.text(inputs[0]!)) and \(Shape.text(inputs[1]!)) do not broadcast")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        switch kind {
        case .and: Elementwise.binary(a.bools, a.shape, b.bools, b.shape, y.bools, y.shape) { ($0 != 0 && $1 != 0) ? 1 : 0 }
        case .or: Elementwise.binary(a.bools, a.shape, b.bools, b.shape, y.bools, y.shape) { ($0 != 0 || $1 != 0) ? 1 : 0 }
        case .xor: Elementwise.binary(a.bools, a.shape, b.bools, b.shape, y.bools, y.shape) { ($0 != 0) != ($1 != 0) ? 1 : 0 }
        }
    }
}

/// `Not` (bool), `IsNaN` and `IsInf` (float32 → bool).
struct PredicateOperator: ExecutableOperator {
    enum Kind: Sendable { case not, isNaN, isInf(positive: Bool, negative: Bool) }
    let label: String
    let opType: String
    let kind: Kind

    init(_ node: GraphNode, _ kind: Kind) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        label = node.label
        opType = node.opType
        if case .isInf = kind {
            try node.requireOnlyAttributes(["detect_positive", "detect_negative"])
            self.kind = .isInf(positive: try node.intAttribute("detect_positive", default: 1) != 0,
                               negative: try node.intAttribute("detect_negative", default: 1) != 0)
        } else {
            try node.requireOnlyAttributes([])
            self.kind = kind
        }
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        if case .not = kind { try requireTypes(inputs, [.bool], label, opType) } else { try requireFloat32(inputs, label, opType) }
        return [.bool]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] { [inputs[0]!] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!, y = outputs[0].bools
        switch kind {
        case .not:
            let px = x.bools
            for i in 0..<px.count { y[i] = px[i] == 0 ? 1 : 0 }
        case .isNaN:
            let px = x.floats
            for i in 0..<px.count { y[i] = px[i].isNaN ? 1 : 0 }
        case .isInf(let positive, let negative):
            let px = x.floats
            for i in 0..<px.count { y[i] = (px[i] == .infinity && positive) || (px[i] == -.infinity && negative) ? 1 : 0 }
        }
    }
}

/// `Where(condition, X, Y)`: three-way numpy broadcasting, any element type.
struct WhereOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 3...3, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        guard inputs[0] == .bool else { throw InferenceError.malformed("\(label): the condition must be bool") }
        return [try requireSameType(Array(inputs.dropFirst()), label)]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        guard let xy = Broadcast.shape(inputs[1]!, inputs[2]!), let shape = Broadcast.shape(inputs[0]!, xy) else {
            throw shapeError(label, "shapes \(inputs.map { Shape.text($0!) }) do not broadcast")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let c = inputs[0]!, x = inputs[1]!, z = inputs[2]!, y = outputs[0]
        Elementwise.select(c.bools, c.shape, x.bytes, x.shape, z.bytes, z.shape, y.bytes, y.shape, width: y.dtype.byteCount)
    }
}
