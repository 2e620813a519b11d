import Foundation
import Testing
@testable import EnclaveKernels

@Suite("Kernel dispatch")
struct DispatchTests {
    @Test func tableIsFilledAndNamesEveryKernel() {
        let names = KernelSet.selected.variantNames
        #expect(Set(names.keys) == ["gemm", "add", "sub", "mul", "div", "relu", "sigmoid", "copy", "softmax", "exp", "tanh",
                                    "erf", "gelu", "layernorm", "reduce_sum", "reduce_mean", "reduce_max"])
        #expect(names.values.allSatisfy { $0.hasPrefix("enclava_f32_") })
        #expect(KernelSet.reference.isa == "ref")
        #expect(KernelSet.reference.variantNames.values.allSatisfy { $0.hasSuffix("__ref") })
        #expect(["ref", "avx2", "avx512", "neon"].contains(KernelSet.selected.isa))
        for kernels in KernelSet.available {
            #expect(kernels.variantNames.values.allSatisfy { $0.hasSuffix("__" + kernels.isa) || $0.contains("__\(kernels.isa)_") },
                    "every entry of the \(kernels.isa) table is an \(kernels.isa) variant")
        }
    }

    @Test func selectionFollowsCPUIDAndXCR0() {
        let features = CPUFeatures.current
        let expected: String
        if features.isSuperset(of: [.avx512f, .avx2, .fma]) {
            expected = "avx512"
        } else if features.isSuperset(of: [.avx2, .fma]) {
            expected = "avx2"
        } else if features.contains(.neon) {
            expected = "neon"
        } else {
            expected = "ref"
        }
        #expect(KernelSet.selected.isa == expected, "features: \(features)")
        #expect(KernelSet.selected.variantNames == KernelSet.variant(isa: expected)?.variantNames)
        #expect(KernelSet.variant(isa: "avx512") == nil || features.contains(.avx512f), "AVX-512 offered without the feature")
        #expect(KernelSet.variant(isa: "sse9") == nil && KernelSet.variant(isa: "selected") == nil)
        #expect(KernelSet.available.first == .reference)
    }

    @Test func cpuFeaturesAreConsistent() {
        let features = CPUFeatures.current
        // AVX2 or AVX-512 only count when the OS saves the wider registers, which implies AVX.
        if features.contains(.avx2) || features.contains(.avx512f) { #expect(features.contains(.avx)) }
        #expect(!features.description.isEmpty)
        #expect(CPUFeatures.current == features, "detection must be stable")
    }
}

@Suite("Kernels against naive references")
struct KernelTests {
    @Test(arguments: kernelSets, [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaive(kernels: KernelSet, transpose: (Bool, Bool)) {
        var rng = SplitMix(state: 7)
        for m in edgeSizes { for n in [0, 1, 5, 16, 17] { for k in [0, 1, 4, 9, 33] {
            let (transA, transB) = transpose
            let lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3  // padded rows
            let a = rng.floats(max(1, (transA ? k : m) * lda))
            let b = rng.floats(max(1, (transB ? n : k) * ldb))
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25)] {
                var c = rng.floats(max(1, m * ldc))
                if beta == 0 { for i in c.indices { c[i] = .nan } }   // beta 0 must not read C
                let expected = Naive.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda,
                                 b: pb, ldb: ldb, beta: beta, c: pc, ldc: ldc)
                } } }
                // Only the m×n window may change; padding keeps its old value.
                for i in 0..<m { for j in 0..<n {
                    let got = c[i * ldc + j], want = expected[i * ldc + j]
                    if abs(got - want) > 1e-4 * Float(max(k, 1)) {
                        Issue.record("gemm \(kernels.isa) m\(m) n\(n) k\(k) t\(transA)/\(transB) α\(alpha) β\(beta) [\(i),\(j)]: \(got) vs \(want)")
                        return
                    }
                } }
                for i in 0..<m { for j in n..<ldc where i * ldc + j < c.count {
                    let untouched = expected[i * ldc + j]
                    #expect(c[i * ldc + j].bitPattern == untouched.bitPattern, "gemm wrote outside C's window")
                } }
            }
        } } }
    }

    @Test(arguments: kernelSets, BinaryKernel.allCases)
    func binaryMatchesNaiveWithStrides(kernels: KernelSet, op: BinaryKernel) {
        var rng = SplitMix(state: 11)
        for count in edgeSizes + [64, 100] {
            for (strideA, strideB) in [(1, 1), (0, 1), (1, 0), (2, 3)] {
                let a = rng.floats(max(1, count * max(strideA, 1)))
                let b = rng.floats(max(1, count * max(strideB, 1))).map { op == .div && abs($0) < 0.05 ? 0.5 : $0 }
                var y = [Float](repeating: -7, count: count + 1)   // one sentinel past the end
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
                    kernels.binary(op, count: count, a: pa, strideA: strideA, b: pb, strideB: strideB,
                                   y: UnsafeMutableBufferPointer(rebasing: py[0..<count]))
                } } }
                for i in 0..<count {
                    let x0 = a[i * strideA], x1 = b[i * strideB]
                    let want: Float = switch op { case .add: x0 + x1; case .sub: x0 - x1; case .mul: x0 * x1; case .div: x0 / x1 }
                    #expect(y[i] == want, "\(op) \(kernels.isa) n\(count) [\(i)]")
                }
                #expect(y[count] == -7, "\(op) wrote past the end")
            }
        }
    }

    @Test(arguments: kernelSets)
    func inPlaceBinaryIsAllowed(kernels: KernelSet) {
        var x: [Float] = [1, 2, 3, 4]
        let b: [Float] = [10]
        x.withUnsafeMutableBufferPointer { px in b.withUnsafeBufferPointer { pb in
            kernels.binary(.add, count: 4, a: UnsafeBufferPointer(px), b: pb, strideB: 0, y: px)
        } }
        #expect(x == [11, 12, 13, 14])
    }

    @Test(arguments: kernelSets)
    func reluAndSigmoidMatchNaive(kernels: KernelSet) {
        var rng = SplitMix(state: 13)
        for count in edgeSizes + [1000] {
            let x = rng.floats(count, scale: 40) + (count > 0 ? [0, -0.0, 90, -90] : [])
            for op in [UnaryKernel.relu, .sigmoid] {
                var y = [Float](repeating: .nan, count: x.count)
                x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in kernels.unary(op, x: px, y: py) } }
                for i in x.indices {
                    let v = Double(x[i])
                    let want = op == .relu ? max(v, 0) : 1 / (1 + exp(-v))
                    #expect(abs(Double(y[i]) - want) <= 1e-6 * max(1, abs(want)), "\(op) \(kernels.isa) x=\(x[i]) got \(y[i])")
                }
            }
        }
        var nan: [Float] = [.nan]
        nan.withUnsafeMutableBufferPointer { p in kernels.unary(.relu, x: UnsafeBufferPointer(p), y: p) }
        #expect(nan[0].isNaN, "relu keeps NaN")
    }

    @Test(arguments: kernelSets)
    func copyBroadcastsAndStrides(kernels: KernelSet) {
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7]
        var y = [Float](repeating: 0, count: 4)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in kernels.copy(count: 4, x: px, stride: 2, y: py) } }
        #expect(y == [1, 3, 5, 7])
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in kernels.copy(count: 4, x: px, stride: 0, y: py) } }
        #expect(y == [1, 1, 1, 1])
    }

    @Test(arguments: kernelSets)
    func softmaxMatchesNaiveOverEveryAxisLayout(kernels: KernelSet) {
        var rng = SplitMix(state: 17)
        for (outer, axis, inner) in [(1, 1, 1), (1, 5, 1), (3, 4, 1), (2, 3, 5), (1, 17, 2), (4, 1, 3), (0, 3, 2)] {
            var x = rng.floats(outer * axis * inner, scale: 20)
            if !x.isEmpty { x[0] = 1e4 }   // a large value must not overflow
            var y = [Float](repeating: .nan, count: x.count)
            x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
                kernels.softmax(outer: outer, axis: axis, inner: inner, x: px, y: py)
            } }
            for o in 0..<outer { for i in 0..<inner {
                let values = (0..<axis).map { Double(x[(o * axis + $0) * inner + i]) }
                let top = values.max()!
                let total = values.map { exp($0 - top) }.reduce(0, +)
                for a in 0..<axis {
                    let want = exp(values[a] - top) / total
                    #expect(abs(Double(y[(o * axis + a) * inner + i]) - want) < 1e-6, "softmax \(outer)x\(axis)x\(inner)")
                }
            } }
        }
    }
}
