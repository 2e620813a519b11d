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

    /// The activation epilogue (GELU after a Linear layer) equals the product followed by the unary kernel,
    /// exactly: each thread applies the same kernel to its own block of C. Sizes around the tiles (1, tile±1,
    /// primes), a row stride wider than n, and 1–3 threads (splits along n and along m).
    @Test("GELU epilogue equals the product then GELU, 1–3 threads", arguments: kernelSets)
    func activationEpilogue(kernels: KernelSet) {
        var rng = SplitMix(state: 77)
        let (mr, nr) = kernels.gemmTile
        for (m, n, k) in [(1, 1, 1), (mr - 1, nr + 1, 7), (mr + 1, nr - 1, 31), (13, 97, 64), (128, 384, 40), (600, 17, 5)] {
            let ldc = n + 3
            let a = rng.floats(m * k), b = rng.floats(k * n)
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(kernels.packedByteCount(k: k, n: n), 1), alignment: 64)
            defer { storage.deallocate() }
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                let packed = kernels.packB(k: k, n: n, b: pb, ldb: n, into: storage)
                var expected = [Float](repeating: 9, count: m * ldc)
                expected.withUnsafeMutableBufferPointer { c in
                    kernels.gemm(m: m, a: pa, lda: k, packedB: packed, c: c, ldc: ldc)
                    for r in 0..<m {
                        let row = UnsafeMutableBufferPointer(rebasing: c[(r * ldc)..<(r * ldc + n)])
                        kernels.unary(.gelu, x: UnsafeBufferPointer(row), y: row)
                    }
                }
                for threads in [1, 2, 3] {
                    var got = [Float](repeating: 9, count: m * ldc)
                    got.withUnsafeMutableBufferPointer { c in
                        kernels.gemm(m: m, a: pa, lda: k, packedB: packed, c: c, ldc: ldc, threads: threads, activation: .gelu)
                    }
                    #expect(got == expected, "\(kernels.gemmVariant) \(m)×\(n)×\(k) threads \(threads)")
                }
            } }
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
