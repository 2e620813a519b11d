import EnclaveKernels

/// `Cast(to)` and `CastLike(input, target)` between float32, int64, int32 and bool. Float to integer
/// truncates toward zero (NaN and out-of-range values become the type's minimum, as x86 does).
struct CastOperator: ExecutableOperator {
    let label: String
    let target: TensorDataType?   // nil for CastLike: the second input's type

    init(_ node: GraphNode, like: Bool) throws {
        try node.requireArity(inputs: like ? 2...2 : 1...1, outputs: 1)
        try node.requireOnlyAttributes(like ? ["saturate"] : ["to", "saturate"])
        label = node.label
        if like {
            target = nil
        } else {
            let code = try node.intAttribute("to", default: 0)
            guard let type = TensorDataType(onnxCode: Int32(truncatingIfNeeded: code)) else {
                throw InferenceError(.unsupportedDataType, "\(node.label) casts to \(TensorDataType.onnxName(Int32(truncatingIfNeeded: code))), "
                                     + "which Enclava does not support")
            }
            target = type
        }
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { [target ?? inputs[1]!] }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] { [inputs[0]!] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!, y = outputs[0]
        if x.dtype == y.dtype {
            if x.bytes.count > 0 { y.bytes.baseAddress!.copyMemory(from: x.bytes.baseAddress!, byteCount: x.bytes.count) }
            return
        }
        let n = x.count
        switch (x.dtype, y.dtype) {
        case (.float32, .int64): for i in 0..<n { y.int64s[i] = Self.toInt64(x.floats[i]) }
        case (.float32, .int32): for i in 0..<n { y.int32s[i] = Int32(truncatingIfNeeded: Self.toInt64(x.floats[i])) }
        case (.float32, .bool): for i in 0..<n { y.bools[i] = x.floats[i] != 0 ? 1 : 0 }
        case (.int64, .float32): for i in 0..<n { y.floats[i] = Float(x.int64s[i]) }
        case (.int64, .int32): for i in 0..<n { y.int32s[i] = Int32(truncatingIfNeeded: x.int64s[i]) }
        case (.int64, .bool): for i in 0..<n { y.bools[i] = x.int64s[i] != 0 ? 1 : 0 }
        case (.int32, .float32): for i in 0..<n { y.floats[i] = Float(x.int32s[i]) }
        case (.int32, .int64): for i in 0..<n { y.int64s[i] = Int64(x.int32s[i]) }
        case (.int32, .bool): for i in 0..<n { y.bools[i] = x.int32s[i] != 0 ? 1 : 0 }
        case (.bool, .float32): for i in 0..<n { y.floats[i] = x.bools[i] != 0 ? 1 : 0 }
        case (.bool, .int64): for i in 0..<n { y.int64s[i] = x.bools[i] != 0 ? 1 : 0 }
        case (.bool, .int32): for i in 0..<n { y.int32s[i] = x.bools[i] != 0 ? 1 : 0 }
        default: break
        }
    }

    private static func toInt64(_ value: Float) -> Int64 {
        guard value.isFinite, value >= -9.223372e18, value < 9.223372e18 else { return .min }
        return Int64(value.rounded(.towardZero))
    }
}
