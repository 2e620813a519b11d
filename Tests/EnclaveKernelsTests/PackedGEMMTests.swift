import Foundation
import Testing
@testable import EnclaveKernels

/// Pre-packed B (weights packed once) against the reference product on the unpacked operands.
@Suite("SGEMM with a pre-packed B")
struct PackedGEMMTests {
    static let cases: [GEMMCase] = [
        GEMMCase(m: 1, n: 1, k: 1),
        GEMMCase(m: 5, n: 17, k: 7, transB: true, padB: 2, alpha: 0.5, beta: 1),
        GEMMCase(m: 97, n: 257, k: 600, transA: true, padA: 3, padC: 2, alpha: 1, beta: 0),
        GEMMCase(m: 128, n: 384, k: 384, alpha: 1, beta: 0),
        GEMMCase(m: 13, n: 1031, k: 33, transB: true, alpha: -1, beta: 0.25),
    ]

    @Test("packed B matches the plain product, 1–3 threads", arguments: kernelSets, cases)
    func packedMatchesPlain(kernels: KernelSet, testCase: GEMMCase) {
        for threads in [1, 2, 3] {
            let result = testCase.compare(seed: UInt64(threads + 10)) { a, b, c in
                let bytes = kernels.packedByteCount(k: testCase.k, n: testCase.n)
                let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
                defer { storage.deallocate() }
                let packed = kernels.packB(transB: testCase.transB, k: testCase.k, n: testCase.n, b: b, ldb: testCase.ldb,
                                           into: storage)
                kernels.gemm(transA: testCase.transA, m: testCase.m, alpha: testCase.alpha, a: a, lda: testCase.lda,
                             packedB: packed, beta: testCase.beta, c: c, ldc: testCase.ldc, threads: threads)
            }
            #expect(result.worst <= 1, "\(kernels.gemmVariant) packed \(testCase.testDescription) threads \(threads): \(result.where)")
            #expect(!result.paddingTouched, "\(kernels.gemmVariant) packed wrote outside C's window")
        }
    }

    @Test("packing reads B only inside its extent (guard page)", arguments: kernelSets)
    func packingAtGuardPage(kernels: KernelSet) {
        var rng = SplitMix(state: 111)
        for (m, n, k) in [(3, 17, 5), (7, 16, 300), (1, 1, 1)] {
            for transB in [false, true] {
                let a = GuardedFloats(rng.floats(m * k)), b = GuardedFloats(rng.floats(k * n)), c = GuardedFloats(count: m * n)
                let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: kernels.packedByteCount(k: k, n: n), alignment: 64)
                defer { storage.deallocate() }
                let packed = kernels.packB(transB: transB, k: k, n: n, b: b.readOnly, ldb: transB ? k : n, into: storage)
                kernels.gemm(m: m, a: a.readOnly, lda: k, packedB: packed, c: c.pointer, ldc: n, threads: 2)
                #expect(c.values.allSatisfy { $0.isFinite })
            }
        }
    }
}
