import EnclaveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Arithmetic of the binary and variadic elementwise operators.
enum ArithmeticKind: String, Sendable {
    case add, sub, mul, div, pow, mod, fmod, min, max, mean

    var kernel: BinaryKernel? {
        switch self {
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        default: return nil
        }
    }

    func float(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add, .mean: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .pow: return powf(a, b)
        case .fmod: return fmodf(a, b)
        case .mod:
            let r = fmodf(a, b)
            return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r
        case .min: return (a.isNaN || b.isNaN) ? .nan : Swift.min(a, b)
        case .max: return (a.isNaN || b.isNaN) ? .nan : Swift.max(a, b)
        }
    }

    func integer<T: FixedWidthInteger & SignedInteger>(_ a: T, _ b: T) -> T {
        switch self {
        case .add, .mean: return a &+ b
        case .sub: return a &- b
        case .mul: return a &* b
        case .div: return b == 0 ? 0 : (a == T.min && b == -1 ? T.min : a / b)
        case .pow:
            guard b >= 0 else { return a == 1 ? 1 : 0 }
            var result: T = 1, base = a, exponent = b
            while exponent > 0 {
                if exponent & 1 == 1 { result = result &* base }
                base = base &* base
                exponent >>= 1
            }
            return result
        case .fmod: return b == 0 || (a == T.min && b == -1) ? 0 : a % b
        case .mod:
            guard b != 0, !(a == T.min && b == -1) else { return 0 }
            let r = a % b
            return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r
        case .min: return Swift.min(a, b)
        case .max: return Swift.max(a, b)
        }
    }
}

/// `Add`, `Sub`, `Mul`, `Div`, `Pow`, `Mod` with numpy broadcasting; float32 (SIMD kernels for the four
/// basic ones), int64 and int32.
struct BinaryOperator: ExecutableOperator {
    let label: String
    let opType: String
    let kind: ArithmeticKind

    init(_ node: GraphNode, _ kind: ArithmeticKind) throws {
        try node.requireArity(inputs: 2...2, outputs: 1)
        label = node.label
        opType = node.opType
        if node.opType == "Mod" {
            try node.requireOnlyAttributes(["fmod"])
            self.kind = try node.intAttribute("fmod", default: 0) != 0 ? .fmod : .mod
        } else {
            try node.requireOnlyAttributes([])
            self.kind = kind
        }
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, [.float32, .int64, .int32], label, opType)
        if kind == .pow { return [inputs[0]!] }
        return [try requireSameType(inputs, label)]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let (a, b) = (inputs[0]!, inputs[1]!)
        guard let shape = Broadcast.shape(a, b) else {
            throw shapeError(label, "shapes \(Shape.text(a)) and \(Shape.text(b)) do not broadcast")
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let a = inputs[0]!, b = inputs[1]!, y = outputs[0]
        switch (a.dtype, b.dtype) {
        case (.float32, .float32):
            if let kernel = kind.kernel {
                Self.floatKernel(kernel, a, b, y, kernels)
            } else {
                let kind = self.kind
                Elementwise.binary(a.floats, a.shape, b.floats, b.shape, y.floats, y.shape) { kind.float($0, $1) }
            }
        case (.int64, .int64):
            let kind = self.kind
            Elementwise.binary(a.int64s, a.shape, b.int64s, b.shape, y.int64s, y.shape) { kind.integer($0, $1) }
        case (.int32, .int32):
            let kind = self.kind
            Elementwise.binary(a.int32s, a.shape, b.int32s, b.shape, y.int32s, y.shape) { kind.integer($0, $1) }
        case (.float32, _):   // Pow with an integer exponent
            let exponents = b.integers.map { Float($0) }
            exponents.withUnsafeBufferPointer { e in
                Elementwise.binary(a.floats, a.shape, e, b.shape, y.floats, y.shape) { powf($0, $1) }
            }
        case (.int64, _):
            let exponents = b.integers.map { Int64($0) }
            exponents.withUnsafeBufferPointer { e in
                Elementwise.binary(a.int64s, a.shape, e, b.shape, y.int64s, y.shape) { ArithmeticKind.pow.integer($0, $1) }
            }
        default:
            let exponents = b.integers.map { Int32(clamping: $0) }
            exponents.withUnsafeBufferPointer { e in
                Elementwise.binary(a.int32s, a.shape, e, b.shape, y.int32s, y.shape) { ArithmeticKind.pow.integer($0, $1) }
            }
        }
    }

    static func floatKernel(_ kernel: BinaryKernel, _ a: TensorView, _ b: TensorView, _ y: MutableTensorView, _ kernels: KernelSet) {
        let loop = BroadcastLoop(output: y.shape, stridesA: Broadcast.strides(of: a.shape, in: y.shape),
                                 stridesB: Broadcast.strides(of: b.shape, in: y.shape))
        let (pa, pb, py) = (a.floats, b.floats, y.floats)
        let count = loop.innerCount
        let spanA = (count - 1) * loop.innerStrideA + 1, spanB = (count - 1) * loop.innerStrideB + 1
        loop.forEachRun { offsetA, offsetB, offsetY in
            kernels.binary(kernel, count: count,
                           a: UnsafeBufferPointer(rebasing: pa[offsetA..<(offsetA + spanA)]), strideA: loop.innerStrideA,
                           b: UnsafeBufferPointer(rebasing: pb[offsetB..<(offsetB + spanB)]), strideB: loop.innerStrideB,
                           y: UnsafeMutableBufferPointer(rebasing: py[offsetY..<(offsetY + count)]))
        }
    }
}

/// `Min`, `Max`, `Sum`, `Mean` over one or more inputs, with numpy broadcasting.
struct VariadicOperator: ExecutableOperator {
    let label: String
    let opType: String
    let kind: ArithmeticKind

    init(_ node: GraphNode, _ kind: ArithmeticKind) throws {
        try node.requireArity(inputs: 1...64, outputs: 1)
        try node.requireAllInputsPresent()
        try node.requireOnlyAttributes([])
        label = node.label
        opType = node.opType
        self.kind = kind
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, kind == .mean ? [.float32] : [.float32, .int64, .int32], label, opType)
        return [try requireSameType(inputs, label)]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        var shape = inputs[0]!
        for next in inputs.dropFirst() {
            guard let merged = Broadcast.shape(shape, next!) else {
                throw shapeError(label, "shapes \(Shape.text(shape)) and \(Shape.text(next!)) do not broadcast")
            }
            shape = merged
        }
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let y = outputs[0]
        let kind = self.kind
        switch y.dtype {
        case .float32:
            let py = y.floats
            Elementwise.binary(inputs[0]!.floats, inputs[0]!.shape, inputs[0]!.floats, inputs[0]!.shape, py, y.shape) { a, _ in a }
            for x in inputs.dropFirst() {
                Elementwise.binary(UnsafeBufferPointer(py), y.shape, x!.floats, x!.shape, py, y.shape) { kind.float($0, $1) }
            }
            if kind == .mean {
                let scale = 1 / Float(inputs.count)
                for i in py.indices { py[i] *= scale }
            }
        case .int64:
            let py = y.int64s
            Elementwise.binary(inputs[0]!.int64s, inputs[0]!.shape, inputs[0]!.int64s, inputs[0]!.shape, py, y.shape) { a, _ in a }
            for x in inputs.dropFirst() {
                Elementwise.binary(UnsafeBufferPointer(py), y.shape, x!.int64s, x!.shape, py, y.shape) { kind.integer($0, $1) }
            }
        default:
            let py = y.int32s
            Elementwise.binary(inputs[0]!.int32s, inputs[0]!.shape, inputs[0]!.int32s, inputs[0]!.shape, py, y.shape) { a, _ in a }
            for x in inputs.dropFirst() {
                Elementwise.binary(UnsafeBufferPointer(py), y.shape, x!.int32s, x!.shape, py, y.shape) { kind.integer($0, $1) }
            }
        }
    }
}
