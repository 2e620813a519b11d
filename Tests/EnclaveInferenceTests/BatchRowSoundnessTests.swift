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
            switch random.next(13) {
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
