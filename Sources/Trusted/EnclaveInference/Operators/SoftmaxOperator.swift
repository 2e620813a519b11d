import EnclaveKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `Softmax` and `LogSoftmax` (opset 13 semantics: over one axis, default the last).
struct SoftmaxOperator: ExecutableOperator {
    let label: String
    let axis: Int64
    let isLog: Bool
    /// Write 0 where the softmax is NaN (rows whose every entry is −∞: fully masked attention rows).
    let zeroNaN: Bool

    init(label: String, axis: Int64, zeroNaN: Bool) {
        self.label = label
        self.axis = axis
        self.isLog = false
        self.zeroNaN = zeroNaN
    }

    init(_ node: GraphNode, log: Bool = false) throws {
        isLog = log
        zeroNaN = false
        try node.requireArity(inputs: 1...1, outputs: 1)
        try node.requireOnlyAttributes(["axis"])
        label = node.label
        axis = try node.intAttribute("axis", default: -1)
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, isLog ? "LogSoftmax" : "Softmax")
        return [.float32]
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let shape = inputs[0]!
        guard !shape.isEmpty else { throw shapeError(label, "Softmax needs an input of rank 1 or more") }
        _ = try normalizeAxis(axis, rank: shape.count, label)
        return [shape]
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {
        let x = inputs[0]!
        guard let axisIndex = try? normalizeAxis(axis, rank: x.shape.count, label) else { preconditionFailure("axis was checked") }
        let outer = Shape.elementCount(x.shape[..<axisIndex]) ?? 0
        let inner = Shape.elementCount(x.shape[(axisIndex + 1)...]) ?? 0
        let y = outputs[0].floats
        kernels.softmax(outer: outer, axis: x.shape[axisIndex], inner: inner, x: x.floats, y: y)
        if zeroNaN {
            for i in 0..<y.count where y[i].isNaN { y[i] = 0 }
        }
        if isLog {
            // log(softmax) loses nothing measurable here except where softmax underflows to 0; recompute those.
            let n = x.shape[axisIndex], px = x.floats
            for o in 0..<outer {
                for i in 0..<inner {
                    var top = -Float.infinity
                    for k in 0..<n { top = max(top, px[(o * n + k) * inner + i]) }
                    var sum: Float = 0
                    for k in 0..<n { sum += expf(px[(o * n + k) * inner + i] - top) }
                    let logSum = logf(sum)
                    for k in 0..<n { y[(o * n + k) * inner + i] = px[(o * n + k) * inner + i] - top - logSum }
                }
            }
        }
    }
}
