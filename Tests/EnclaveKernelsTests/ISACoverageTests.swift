import Foundation
import Testing
@testable import EnclaveKernels

/// One test per ISA, so a machine without it reports the variants as skipped, with the reason, rather than
/// silently testing fewer tables. The detailed per-kernel tests above run over every ISA this CPU has
/// (`simdKernelSets`); this smoke test names each ISA explicitly.
@Suite("Per-ISA coverage")
struct ISACoverageTests {
    /// A quick pass of every kernel of `isa` against the reference.
    static func smoke(_ isa: String) throws {
        let kernels = try #require(KernelSet.variant(isa: isa))
        #expect(kernels.isa == isa)
        var rng = SplitMix(state: 101)
        let testCase = GEMMCase(m: 37, n: 75, k: 130, transB: true, padA: 1, alpha: 1, beta: 0)
        let result = testCase.compare(seed: 1) { a, b, c in
            kernels.gemm(transA: false, transB: true, m: 37, n: 75, k: 130, a: a, lda: testCase.lda, b: b, ldb: testCase.ldb,
                         c: c, ldc: testCase.ldc, threads: 2)
        }
        #expect(result.worst <= 1 && !result.paddingTouched, "\(kernels.gemmVariant): \(result.where)")
        let x = rng.floats(1000, scale: 12)
        for op in UnaryKernel.allCases {
            var got = [Float](repeating: 0, count: x.count), want = got
            x.withUnsafeBufferPointer { px in
                got.withUnsafeMutableBufferPointer { kernels.unary(op, x: px, y: $0) }
                want.withUnsafeMutableBufferPointer { KernelSet.reference.unary(op, x: px, y: $0) }
            }
            #expect(x.indices.allSatisfy { UnaryBound.check(op, x: x[$0], got: got[$0], want: want[$0]) }, "\(isa) \(op)")
        }
        var got = [Float](repeating: 0, count: x.count), want = got
        x.withUnsafeBufferPointer { px in
            got.withUnsafeMutableBufferPointer { kernels.softmax(outer: 10, axis: 100, inner: 1, x: px, y: $0) }
            want.withUnsafeMutableBufferPointer { KernelSet.reference.softmax(outer: 10, axis: 100, inner: 1, x: px, y: $0) }
        }
        #expect(maxAbsDifference(got, want) <= 1e-6, "\(isa) softmax")
    }

    @Test(.enabled(if: KernelSet.variant(isa: "avx2") != nil, "AVX2 + FMA not usable here (CPUID/XCR0, or not x86-64)"))
    func avx2() throws { try Self.smoke("avx2") }

    @Test(.enabled(if: KernelSet.variant(isa: "avx512") != nil,
                   "AVX-512F not usable here (CPUID/XCR0, or not x86-64); the variant is built but cannot run"))
    func avx512() throws { try Self.smoke("avx512") }

    @Test(.enabled(if: KernelSet.variant(isa: "neon") != nil, "NEON kernels exist only on AArch64"))
    func neon() throws { try Self.smoke("neon") }
}
