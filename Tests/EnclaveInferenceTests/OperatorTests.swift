import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// Operator semantics beyond the conformance cases: broadcasting layouts, Gemm bias shapes, views.
@Suite("Operators")
struct OperatorTests {
    /// numpy-style broadcast of `a` and `b` computed naively, for comparison.
    static func naiveBroadcast(_ a: [Float], _ sa: [Int], _ b: [Float], _ sb: [Int], _ op: (Float, Float) -> Float) -> ([Float], [Int]) {
        let rank = max(sa.count, sb.count)
        let pa = Array(repeating: 1, count: rank - sa.count) + sa, pb = Array(repeating: 1, count: rank - sb.count) + sb
        let shape = zip(pa, pb).map { $0 == 1 ? $1 : $0 }
        let count = shape.reduce(1, *)
        var out: [Float] = []
        for linear in 0..<count {
            var rest = linear, ia = 0, ib = 0, strideA = 1, strideB = 1
            for d in (0..<rank).reversed() {
                let i = rest % shape[d]
                rest /= shape[d]
                ia += (pa[d] == 1 ? 0 : i) * strideA
                ib += (pb[d] == 1 ? 0 : i) * strideB
                strideA *= pa[d]
                strideB *= pb[d]
            }
            out.append(op(a[ia], b[ib]))
        }
        return (out, shape)
    }

    @Test(arguments: [
        ([2, 3, 4], [4]), ([2, 3, 4], [3, 1]), ([1], [5, 1, 2]), ([4, 1, 3], [1, 5, 1]), ([], [2, 2]), ([3, 1, 1, 2], [1, 4, 1, 1]),
        ([2, 0, 3], [3]),
    ] as [([Int], [Int])])
    func broadcastingMatchesNaive(shapes: ([Int], [Int])) throws {
        let (sa, sb) = shapes
        let dims: (([Int]) -> [Onnx.Dim]) = { $0.map { .value(Int64($0)) } }
        for (op, fn) in [("Add", { (x: Float, y: Float) in x + y }), ("Sub", { $0 - $1 }), ("Mul", { $0 * $1 }), ("Div", { $0 / $1 })] {
            let bytes = Onnx.model(nodes: [.init(op: op, inputs: ["a", "b"], outputs: ["y"])],
                                   inputs: [("a", 1, dims(sa)), ("b", 1, dims(sb))], outputs: [("y", nil)])
            let model = try loadModel(bytes)
            let a = (0..<sa.reduce(1, *)).map { Float($0) * 0.5 - 3 }
            let b = (0..<sb.reduce(1, *)).map { Float($0) + 1.25 }
            let y = try model.run(["a": HostTensor(float32: a, shape: sa), "b": HostTensor(float32: b, shape: sb)])["y"]!
            let (expected, shape) = Self.naiveBroadcast(a, sa, b, sb, fn)
            #expect(y.shape == shape, "\(op) \(sa) \(sb)")
            #expect(y.float32Values == expected, "\(op) \(sa) \(sb)")
        }
    }

    @Test func incompatibleBroadcastIsAnInputError() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Add", inputs: ["a", "b"], outputs: ["y"])],
                               inputs: [("a", 1, [.param("N")]), ("b", 1, [.param("M")])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let error = inferenceError { try model.run(["a": HostTensor(float32: [1, 2, 3], shape: [3]), "b": HostTensor(float32: [1, 2], shape: [2])]) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("do not broadcast") == true)
    }

    @Test func gemmWithRowBiasAndTransposes() throws {
        // Y = 0.5 · Aᵀ · Bᵀ + 2 · C, C of shape [3, 1] broadcast over columns.
        let bytes = Onnx.model(nodes: [.init(op: "Gemm", inputs: ["a", "b", "c"], outputs: ["y"],
                                             intAttributes: ["transA": 1, "transB": 1], floatAttributes: ["alpha": 0.5, "beta": 2])],
                               inputs: [("a", 1, [.value(2), .value(3)]), ("b", 1, [.value(4), .value(2)]), ("c", 1, [.value(3), .value(1)])],
                               outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let a: [Float] = [1, 2, 3, 4, 5, 6]          // 2×3, Aᵀ is 3×2
        let b: [Float] = [1, 0, 0, 1, 1, 1, 2, -1]   // 4×2, Bᵀ is 2×4
        let c: [Float] = [10, 20, 30]
        let y = try model.run(["a": HostTensor(float32: a, shape: [2, 3]), "b": HostTensor(float32: b, shape: [4, 2]),
                               "c": HostTensor(float32: c, shape: [3, 1])])["y"]!
        var expected: [Float] = []
        for i in 0..<3 { for j in 0..<4 {
            var sum: Float = 0
            for p in 0..<2 { sum += a[p * 3 + i] * b[j * 2 + p] }
            expected.append(0.5 * sum + 2 * c[i])
        } }
        #expect(y.shape == [3, 4])
        #expect(y.float32Values == expected)
    }

    @Test func flattenAndIdentityAreViewsOfAnyType() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Flatten", inputs: ["x"], outputs: ["f"], intAttributes: ["axis": 2]),
                                       .init(op: "Identity", inputs: ["f"], outputs: ["y"])],
                               inputs: [("x", 7, [.value(2), .value(3), .value(2)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let values: [Int64] = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, Int64.max]
        let y = try model.run(["x": HostTensor(int64: values, shape: [2, 3, 2])])["y"]!
        #expect(y.dtype == .int64)
        #expect(y.shape == [6, 2])
        #expect(y.int64Values == values)
    }

    @Test func softmaxOverTheMiddleAxis() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Softmax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 1])],
                               inputs: [("x", 1, [.value(2), .value(3), .value(2)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let x: [Float] = [1, 2, 3, 4, 5, 6, -1, 0, 1000, 1, 2, 2]
        let y = try model.run(["x": HostTensor(float32: x, shape: [2, 3, 2])])["y"]!.float32Values!
        for o in 0..<2 { for i in 0..<2 {
            let column = (0..<3).map { Double(x[(o * 3 + $0) * 2 + i]) }
            let top = column.max()!
            let total = column.map { exp($0 - top) }.reduce(0, +)
            for a in 0..<3 {
                #expect(abs(Double(y[(o * 3 + a) * 2 + i]) - exp(column[a] - top) / total) < 1e-6)
            }
        } }
    }
}
