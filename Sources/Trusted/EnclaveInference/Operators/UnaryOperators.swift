import EnclaveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Elementwise unary operators on float32 (SIMD kernels for Relu, Sigmoid, Exp, Tanh, Erf, Gelu; Swift for
/// the rest), and `Neg`, `Abs`, `Sign` on int64/int32 too.
struct UnaryOperator: ExecutableOperator {
    enum Function: Sendable {
        case kernel(UnaryKernel)
        case sqrt, log, neg, abs, reciprocal, ceil, floor, round, sin, cos, softplus, sign, geluTanh
        case elu(Float), leakyRelu(Float), hardSigmoid(Float, Float), selu(Float, Float), celu(Float), thresholdedRelu(Float)
        case hardSwish, mish, softsign, swish(Float)
    }

    let label: String
    let opType: String
    let function: Function

    /// A fused step (see ``PatternFuser``).
    init(label: String, function: Function) {
        self.label = label
        self.opType = "Gelu"
        self.function = function
    }

    init(_ node: GraphNode, _ function: Function) throws {
        try node.requireArity(inputs: 1...1, outputs: 1)
        label = node.label
        opType = node.opType
        switch node.opType {
        case "Elu", "LeakyRelu", "Celu", "ThresholdedRelu":
            try node.requireOnlyAttributes(["alpha"])
            let defaults: [String: Float] = ["Elu": 1, "LeakyRelu": 0.01, "Celu": 1, "ThresholdedRelu": 1]
            let alpha = try node.floatAttribute("alpha", default: defaults[node.opType]!)
            switch node.opType {
            case "Elu": self.function = .elu(alpha)
            case "LeakyRelu": self.function = .leakyRelu(alpha)
            case "Celu": self.function = .celu(alpha)
            default: self.function = .thresholdedRelu(alpha)
            }
        case "HardSigmoid":
            try node.requireOnlyAttributes(["alpha", "beta"])
            self.function = .hardSigmoid(try node.floatAttribute("alpha", default: 0.2), try node.floatAttribute("beta", default: 0.5))
        case "Selu":
            try node.requireOnlyAttributes(["alpha", "gamma"])
            self.function = .selu(try node.floatAttribute("alpha", default: 1.67326319217681884765625),
                                  try node.floatAttribute("gamma", default: 1.05070102214813232421875))
        case "Swish":
            try node.requireOnlyAttributes(["alpha"])
            self.function = .swish(try node.floatAttribute("alpha", default: 1))
        case "Gelu":
            try node.requireOnlyAttributes(["approximate"])
            switch try node.stringAttribute("approximate", default: "none") {
            case "none": self.function = .kernel(.gelu)
            case "tanh": self.function = .geluTanh
            case let other: throw InferenceError.malformed("\(node.label): approximate '\(other)' is not 'none' or 'tanh'")
            }
        default:
            try node.requireOnlyAttributes([])
            self.function = function
        }
    }

    private var allowsIntegers: Bool {
        switch function {
        case .neg, .abs, .sign: return true
        default: return false
        }
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, allowsIntegers ? [.float32, .int64, .int32] : [.float32], label, opType)
        return [inputs[0]!]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] { [inputs[0]!] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!, y = outputs[0]
        switch x.dtype {
        case .int64: Self.integer(function, x.int64s, y.int64s)
        case .int32: Self.integer(function, x.int32s, y.int32s)
        default:
            if case .kernel(let kernel) = function {
                kernels.unary(kernel, x: x.floats, y: y.floats)
                return
            }
            let px = x.floats, py = y.floats
            let f = Self.floatFunction(function)
            for i in 0..<px.count { py[i] = f(px[i]) }
        }
    }

    private static func integer<T: FixedWidthInteger & SignedInteger>(_ function: Function, _ x: UnsafeBufferPointer<T>,
                                                                      _ y: UnsafeMutableBufferPointer<T>) {
        for i in 0..<x.count {
            switch function {
            case .neg: y[i] = 0 &- x[i]
            case .abs: y[i] = x[i] < 0 ? 0 &- x[i] : x[i]
            default: y[i] = x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0)
            }
        }
    }

    private static func floatFunction(_ function: Function) -> (Float) -> Float {
        switch function {
        case .kernel: return { $0 }
        case .sqrt: return { sqrtf($0) }
        case .log: return { logf($0) }
        case .neg: return { -$0 }
        case .abs: return { Swift.abs($0) }
        case .reciprocal: return { 1 / $0 }
        case .ceil: return { ceilf($0) }
        case .floor: return { floorf($0) }
        case .round: return { $0.rounded(.toNearestOrEven) }
        case .sin: return { sinf($0) }
        case .cos: return { cosf($0) }
        case .softplus: return { $0 > 20 ? $0 : log1pf(expf($0)) }
        case .sign: return { $0 > 0 ? 1 : ($0 < 0 ? -1 : ($0.isNaN ? .nan : 0)) }
        case .geluTanh: return { x in 0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
        case .elu(let a): return { $0 >= 0 ? $0 : a * (expf($0) - 1) }
        case .leakyRelu(let a): return { $0 >= 0 ? $0 : a * $0 }
        case .hardSigmoid(let a, let b): return { Swift.max(0, Swift.min(1, a * $0 + b)) }
        case .selu(let a, let g): return { $0 > 0 ? g * $0 : g * (a * expf($0) - a) }
        case .celu(let a): return { Swift.max(0, $0) + Swift.min(0, a * (expf($0 / a) - 1)) }
        case .thresholdedRelu(let a): return { $0 > a ? $0 : 0 }
        case .hardSwish: return { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        case .mish: return { x in x * tanhf(x > 20 ? x : log1pf(expf(x))) }
        case .softsign: return { $0 / (1 + Swift.abs($0)) }
        case .swish(let a): return { x in x / (1 + expf(-a * x)) }
        }
    }
}

/// `Clip` (opset 13: `min` and `max` are optional scalar inputs), float32, int64, int32.
struct ClipOperator: ExecutableOperator {
    let label: String

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 1...3, outputs: 1)
        try node.requireOnlyAttributes([])
        label = node.label
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireTypes(inputs, [.float32, .int64, .int32], label, "Clip")
        return [try requireSameType(inputs, label)]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        for bound in inputs.dropFirst().compactMap({ $0 }) where Shape.elementCount(bound) != 1 {
            throw shapeError(label, "min and max must be scalars, got \(Shape.text(bound))")
        }
        return [inputs[0]!]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!, y = outputs[0]
        let low = inputs.count > 1 ? inputs[1] : nil, high = inputs.count > 2 ? inputs[2] : nil
        switch x.dtype {
        case .float32:
            let lo = low?.floats[0] ?? -.infinity, hi = high?.floats[0] ?? .infinity
            let px = x.floats, py = y.floats
            for i in 0..<px.count { py[i] = px[i].isNaN ? px[i] : Swift.min(Swift.max(px[i], lo), hi) }
        case .int64:
            let lo = low?.int64s[0] ?? .min, hi = high?.int64s[0] ?? .max
            let px = x.int64s, py = y.int64s
            for i in 0..<px.count { py[i] = Swift.min(Swift.max(px[i], lo), hi) }
        default:
            let lo = low?.int32s[0] ?? .min, hi = high?.int32s[0] ?? .max
            let px = x.int32s, py = y.int32s
            for i in 0..<px.count { py[i] = Swift.min(Swift.max(px[i], lo), hi) }
        }
    }
}
