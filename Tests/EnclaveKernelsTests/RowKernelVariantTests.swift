import Foundation
import Testing
@testable import EnclaveKernels

@Suite("Softmax, layer norm and reductions against the references")
struct RowKernelVariantTests {
    static let shapes: [(Int, Int)] = [(1, 1), (1, 3), (2, 4), (3, 7), (2, 8), (5, 9), (2, 15), (3, 16), (1, 17), (2, 31),
                                        (1, 32), (2, 33), (3, 97), (2, 257), (4, 384), (1, 1031)]

    @Test("softmax over the last axis and over strided middle axes", arguments: simdKernelSets)
    func softmaxMatches(kernels: KernelSet) {
        var rng = SplitMix(state: 51)
        var layouts = Self.shapes.map { (outer: $0.0, axis: $0.1, inner: 1) }
        layouts += [(1, 5, 3), (2, 17, 9), (1, 128, 16), (3, 4, 33), (2, 1, 5), (1, 7, 1031)]
        for (outer, axis, inner) in layouts {
            var x = rng.floats(outer * axis * inner, scale: 30)
            x[0] = 1e4   // must not overflow
            var got = [Float](repeating: .nan, count: x.count), want = got
            x.withUnsafeBufferPointer { px in
                got.withUnsafeMutableBufferPointer { kernels.softmax(outer: outer, axis: axis, inner: inner, x: px, y: $0) }
                want.withUnsafeMutableBufferPointer { KernelSet.reference.softmax(outer: outer, axis: axis, inner: inner, x: px, y: $0) }
            }
            #expect(maxAbsDifference(got, want) <= 1e-6, "\(kernels.isa) softmax \(outer)x\(axis)x\(inner)")
            // In place.
            x.withUnsafeMutableBufferPointer { kernels.softmax(outer: outer, axis: axis, inner: inner, x: UnsafeBufferPointer($0), y: $0) }
            #expect(x == got, "softmax in place")
        }
    }

    @Test("layer norm with and without bias", arguments: simdKernelSets)
    func layerNormMatches(kernels: KernelSet) {
        var rng = SplitMix(state: 61)
        for (rows, cols) in Self.shapes {
            let x = rng.floats(rows * cols, scale: 10).map { $0 + 3 }   // a mean away from 0
            let gamma = rng.floats(cols, scale: 3), beta = rng.floats(cols, scale: 2)
            for useBeta in [true, false] {
                var got = [Float](repeating: .nan, count: x.count), want = got
                x.withUnsafeBufferPointer { px in gamma.withUnsafeBufferPointer { pg in beta.withUnsafeBufferPointer { pb in
                    got.withUnsafeMutableBufferPointer {
                        kernels.layerNorm(rows: rows, cols: cols, x: px, gamma: pg, beta: useBeta ? pb : nil, epsilon: 1e-5, y: $0)
                    }
                    want.withUnsafeMutableBufferPointer {
                        KernelSet.reference.layerNorm(rows: rows, cols: cols, x: px, gamma: pg, beta: useBeta ? pb : nil, epsilon: 1e-5, y: $0)
                    }
                } } }
                for i in got.indices {
                    #expect(abs(got[i] - want[i]) <= 4e-6 * max(1, abs(want[i])), "\(kernels.isa) layernorm \(rows)x\(cols) [\(i)]")
                }
            }
        }
    }

    @Test("reference layer norm against a Double computation")
    func referenceLayerNorm() {
        var rng = SplitMix(state: 62)
        let (rows, cols) = (3, 384)
        let x = rng.floats(rows * cols, scale: 8), gamma = rng.floats(cols), beta = rng.floats(cols)
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in gamma.withUnsafeBufferPointer { pg in beta.withUnsafeBufferPointer { pb in
            y.withUnsafeMutableBufferPointer { KernelSet.reference.layerNorm(rows: rows, cols: cols, x: px, gamma: pg, beta: pb, epsilon: 1e-12, y: $0) }
        } } }
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for j in 0..<cols {
                let want = (row[j] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[j]) + Double(beta[j])
                #expect(abs(Double(y[r * cols + j]) - want) <= 2e-6 * max(1, abs(want)))
            }
        }
    }

    @Test("sum, mean and max over the last axis", arguments: simdKernelSets, ReduceKernel.allCases)
    func reductionsMatch(kernels: KernelSet, op: ReduceKernel) {
        var rng = SplitMix(state: 71)
        for (rows, cols) in Self.shapes {
            var x = rng.floats(rows * cols, scale: 100)
            if op == .max { x = x.map { -abs($0) - 1 } }   // all negative: padding lanes must not win
            var got = [Float](repeating: .nan, count: rows + 1), want = got
            x.withUnsafeBufferPointer { px in
                got.withUnsafeMutableBufferPointer { kernels.reduce(op, rows: rows, cols: cols, x: px, y: UnsafeMutableBufferPointer(rebasing: $0[0..<rows])) }
                want.withUnsafeMutableBufferPointer { KernelSet.reference.reduce(op, rows: rows, cols: cols, x: px, y: UnsafeMutableBufferPointer(rebasing: $0[0..<rows])) }
            }
            for r in 0..<rows {
                let magnitude = x[(r * cols)..<((r + 1) * cols)].map { abs($0) }.reduce(0, +) / (op == .mean ? Float(cols) : 1)
                let bound: Float = op == .max ? 0 : 1e-6 * magnitude
                #expect(abs(got[r] - want[r]) <= bound, "\(kernels.isa) \(op) \(rows)x\(cols) row \(r): \(got[r]) vs \(want[r])")
            }
            #expect(got[rows].isNaN, "\(op) wrote past the end")
        }
        // A NaN anywhere makes max NaN, in the vector body and in the tail.
        if op == .max {
            for position in [0, 9, 36] {
                var x = [Float](repeating: 1, count: 37)
                x[position] = .nan
                var y: [Float] = [0]
                x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { kernels.reduce(.max, rows: 1, cols: 37, x: px, y: $0) } }
                #expect(y[0].isNaN, "\(kernels.isa) max with NaN at \(position)")
            }
        }
    }
}
