import Foundation
import Testing
@testable import EnclaveKernels

/// Every kernel of every variant with its inputs and outputs ending exactly at a PROT_NONE page: an
/// over-read of a vector tail (or an over-write) crashes the test process. The header's out-of-bounds
/// contract, checked rather than trusted.
@Suite("Out-of-bounds contract at a guard page")
struct GuardPageTests {
    static let counts = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 97]

    @Test("elementwise, copy, softmax, layer norm, reductions", arguments: kernelSets)
    func rowKernels(kernels: KernelSet) {
        var rng = SplitMix(state: 81)
        for count in Self.counts {
            let x = GuardedFloats(rng.floats(count, scale: 6))
            let b = GuardedFloats(rng.floats(count, scale: 6).map { $0 + 10 })
            let one = GuardedFloats([1.5])
            let y = GuardedFloats(count: count)
            for op in UnaryKernel.allCases { kernels.unary(op, x: x.readOnly, y: y.pointer) }
            for op in BinaryKernel.allCases {
                kernels.binary(op, count: count, a: x.readOnly, b: b.readOnly, y: y.pointer)
                kernels.binary(op, count: count, a: one.readOnly, strideA: 0, b: b.readOnly, y: y.pointer)
                kernels.binary(op, count: count, a: x.readOnly, b: one.readOnly, strideB: 0, y: y.pointer)
            }
            kernels.copy(count: count, x: x.readOnly, y: y.pointer)
            kernels.copy(count: count, x: one.readOnly, stride: 0, y: y.pointer)
            #expect(y.values.allSatisfy { $0 == 1.5 })
            kernels.softmax(outer: 1, axis: count, inner: 1, x: x.readOnly, y: y.pointer)
            kernels.softmax(outer: 1, axis: 1, inner: count, x: x.readOnly, y: y.pointer)
            kernels.layerNorm(rows: 1, cols: count, x: x.readOnly, gamma: b.readOnly, beta: b.readOnly, epsilon: 1e-5, y: y.pointer)
            let r = GuardedFloats(count: 1)
            for op in ReduceKernel.allCases { kernels.reduce(op, rows: 1, cols: count, x: x.readOnly, y: r.pointer) }
            #expect(r.pointer[0] == x.values.max())
        }
    }

    @Test("GEMM with tight leading dimensions, every transpose", arguments: kernelSets)
    func gemm(kernels: KernelSet) {
        var rng = SplitMix(state: 91)
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (1, 17, 3), (13, 33, 9), (6, 16, 8), (5, 15, 7), (19, 31, 300)] {
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = GuardedFloats(rng.floats(m * k)), b = GuardedFloats(rng.floats(k * n))
                let c = GuardedFloats(count: m * n)
                for threads in [1, 2] {
                    kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.readOnly, lda: transA ? m : k,
                                 b: b.readOnly, ldb: transB ? k : n, beta: 0, c: c.pointer, ldc: n, threads: threads)
                }
                kernels.gemmEntryPoint(workspaceBytes: nil, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                       a: a.readOnly, lda: transA ? m : k, b: b.readOnly, ldb: transB ? k : n,
                                       beta: 1, c: c.pointer, ldc: n)
                #expect(c.values.allSatisfy { $0.isFinite })
            }
        }
    }
}
