import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// Soundness of the batch-row analysis against what the models compute: random graphs over operators that
/// keep, move or mix the batch axis. Whenever the analysis proves a graph row-independent, every row of a
/// 3-row run must equal that row run alone; graphs it cannot prove are only counted.
@Suite("Batch-row analysis soundness")
struct BatchRowSoundnessTests {
    /// A deterministic generator (xorshift), so a failure names a reproducible seed.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    /// A random graph over x `[N, 2, 3]`; shapes are tracked with `-k` standing for k·N.
    static func graph(seed: UInt64) -> [UInt8] {
        var random = Random(state: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
        var nodes: [Onnx.Node] = []
        var initializers: [Onnx.Initializer] = []
        var shape = [-1, 2, 3]
        var current = "x"
        func fresh() -> String { "v\(nodes.count)" }
        func constant(_ name: String, _ values: [Int64]) {
            initializers.append(BatchRowAnalysisTests.int64s(name, values))
        }
        for _ in 0..<(1 + random.next(4)) {
            let rank = shape.count
            let axis = random.next(rank)
            let out = fresh()
            switch random.next(18) {
            case 0: nodes.append(.init(op: "Relu", inputs: [current], outputs: [out]))
            case 1: nodes.append(.init(op: "Add", inputs: [current, current], outputs: [out]))
            case 2: nodes.append(.init(op: "Softmax", inputs: [current], outputs: [out], intAttributes: ["axis": Int64(axis)]))
            case 3:
                constant("axes\(nodes.count)", [Int64(axis)])
                nodes.append(.init(op: "ReduceSum", inputs: [current, "axes\(nodes.count)"], outputs: [out]))
                shape[axis] = 1
            case 4:
                var perm = Array(0..<rank)
                for i in stride(from: rank - 1, to: 0, by: -1) { perm.swapAt(i, random.next(i + 1)) }
                nodes.append(.init(op: "Transpose", inputs: [current], outputs: [out], intsAttributes: ["perm": perm.map(Int64.init)]))
                shape = perm.map { shape[$0] }
            case 5 where shape.last! > 0:
                let w = "w\(nodes.count)"
                initializers.append(.init(name: w, dims: [Int64(shape.last!), 2], floats: (0..<(shape.last! * 2)).map { Float($0 % 5) - 2 }))
                nodes.append(.init(op: "MatMul", inputs: [current, w], outputs: [out]))
                shape[rank - 1] = 2
            case 6 where rank >= 2:
                var perm = Array(0..<rank)
                perm.swapAt(rank - 1, rank - 2)
                let t = "t\(nodes.count)"
                nodes.append(.init(op: "Transpose", inputs: [current], outputs: [t], intsAttributes: ["perm": perm.map(Int64.init)]))
                nodes.append(.init(op: "MatMul", inputs: [current, t], outputs: [out]))
                shape[rank - 1] = shape[rank - 2]
            case 7 where shape.filter({ $0 < 0 }).count == 1:
                let rest = shape.filter { $0 > 0 }.reduce(1, *)
                constant("s\(nodes.count)", [-1, Int64(rest)])
                nodes.append(.init(op: "Reshape", inputs: [current, "s\(nodes.count)"], outputs: [out]))
                shape = [shape.first { $0 < 0 }!, rest]
            case 8:
                nodes.append(.init(op: "Concat", inputs: [current, current], outputs: [out], intAttributes: ["axis": Int64(axis)]))
                shape[axis] *= 2
            case 9:
                constant("b\(nodes.count)", [0])
                constant("e\(nodes.count)", [1])
                constant("a\(nodes.count)", [Int64(axis)])
                nodes.append(.init(op: "Slice", inputs: [current, "b\(nodes.count)", "e\(nodes.count)", "a\(nodes.count)"], outputs: [out]))
                shape[axis] = 1
            case 10:
                nodes.append(.init(op: "Flatten", inputs: [current], outputs: [out], intAttributes: ["axis": Int64(axis)]))
                func product(_ dims: ArraySlice<Int>) -> Int {
                    let size = dims.map(abs).reduce(1, *)
                    return dims.contains { $0 < 0 } ? -size : size
                }
                shape = [product(shape[..<axis]), product(shape[axis...])]
            case 11:
                constant("i\(nodes.count)", [0])
                nodes.append(.init(op: "Gather", inputs: [current, "i\(nodes.count)"], outputs: [out], intAttributes: ["axis": Int64(axis)]))
                shape[axis] = 1
            case 13:
                // Reshape to [dim 0 of the input, -1], the target computed from the input's shape.
                let (sh, d0, t) = ("sh\(nodes.count)", "d\(nodes.count)", "t\(nodes.count)")
                constant("zero\(nodes.count)", [0])
                constant("minus\(nodes.count)", [-1])
                nodes.append(.init(op: "Shape", inputs: [current], outputs: [sh]))
                nodes.append(.init(op: "Gather", inputs: [sh, "zero\(nodes.count - 1)"], outputs: [d0], intAttributes: ["axis": 0]))
                nodes.append(.init(op: "Concat", inputs: [d0, "minus\(nodes.count - 2)"], outputs: [t], intAttributes: ["axis": 0]))
                nodes.append(.init(op: "Reshape", inputs: [current, t], outputs: [out]))
                let rest = shape.dropFirst().map(abs).reduce(1, *)
                shape = [shape[0], shape.dropFirst().contains { $0 < 0 } ? -rest : rest]
            case 14:
                // Add a constant expanded to the input's shape.
                let (sh, e, c) = ("sh\(nodes.count)", "e\(nodes.count)", "c\(nodes.count)")
                initializers.append(.init(name: c, dims: [1], floats: [0.5]))
                nodes.append(.init(op: "Shape", inputs: [current], outputs: [sh]))
                nodes.append(.init(op: "Expand", inputs: [c, sh], outputs: [e]))
                nodes.append(.init(op: "Add", inputs: [current, e], outputs: [out]))
            case 15:
                // Use one dimension of the input as data (the batch size when that dimension is N).
                let (sh, d, f) = ("sh\(nodes.count)", "d\(nodes.count)", "f\(nodes.count)")
                constant("i\(nodes.count)", [Int64(axis)])
                nodes.append(.init(op: "Shape", inputs: [current], outputs: [sh]))
                nodes.append(.init(op: "Gather", inputs: [sh, "i\(nodes.count - 1)"], outputs: [d], intAttributes: ["axis": 0]))
                nodes.append(.init(op: "Cast", inputs: [d], outputs: [f], intAttributes: ["to": 1]))
                nodes.append(.init(op: "Mul", inputs: [current, f], outputs: [out]))
            case 16:
                var repeats = Array(repeating: Int64(1), count: rank)
                repeats[axis] = 2
                constant("r\(nodes.count)", repeats)
                nodes.append(.init(op: "Tile", inputs: [current, "r\(nodes.count)"], outputs: [out]))
                shape[axis] *= 2
            case 17:
                let index = "am\(nodes.count)"
                nodes.append(.init(op: "ArgMax", inputs: [current], outputs: [index], intAttributes: ["axis": Int64(axis)]))
                nodes.append(.init(op: "Cast", inputs: [index], outputs: [out], intAttributes: ["to": 1]))
                shape[axis] = 1
            default:
                nodes.append(.init(op: "ReduceMax", inputs: [current], outputs: [out], intAttributes: ["keepdims": 1],
                                   intsAttributes: ["axes": [Int64(axis)]]))
                shape[axis] = 1
            }
            if nodes.last?.outputs == [out] { current = out }
        }
        nodes.append(.init(op: "Identity", inputs: [current], outputs: ["y"]))
        return Onnx.model(nodes: nodes, initializers: initializers, inputs: [("x", 1, [.param("N"), .value(2), .value(3)])],
                          outputs: [("y", nil)])
    }

    @Test func provenRandomGraphsGiveEveryRowItsResultAlone() throws {
        let rows = (0..<18).map { Float(($0 * 37) % 11) * 0.25 - 1 }
        func input(_ range: Range<Int>) -> [String: HostTensor] {
            ["x": HostTensor(float32: Array(rows[(range.lowerBound * 6)..<(range.upperBound * 6)]), shape: [range.count, 2, 3])]
        }
        var proven = 0, refused = 0, checked = 0
        for seed in UInt64(1)...400 {
            guard let model = try? loadModel(Self.graph(seed: seed)) else { continue }
            guard model.rowIndependence.isProven else {
                refused += 1
                continue
            }
            proven += 1
            // (A graph whose tracked shapes went wrong fails to run alone and together alike; it says nothing.)
            guard let together = try? model.run(input(0..<3))["y"], let y = together.float32Values else { continue }
            checked += 1
            #expect(together.shape.first == 3, "seed \(seed): \(model.rowIndependence)")
            for row in 0..<3 {
                guard let alone = try? model.run(input(row..<(row + 1)))["y"]?.float32Values else {
                    Issue.record("seed \(seed): row \(row) runs in a batch but not alone")
                    continue
                }
                let slice = Array(y[(row * alone.count)..<((row + 1) * alone.count)])
                #expect(maxAbsError(slice, alone) <= 1e-4, "seed \(seed), row \(row): \(model.rowIndependence)")
            }
        }
        // Both verdicts must occur for the test to say anything.
        #expect(checked >= 40 && refused >= 40, "proven \(proven) (\(checked) ran), refused \(refused)")
    }
}
