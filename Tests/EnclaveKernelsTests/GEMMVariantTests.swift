import Foundation
import Testing
@testable import EnclaveKernels

/// One GEMM case: shape, transposes, padding of the leading dimensions, alpha and beta.
struct GEMMCase: Sendable, CustomTestStringConvertible {
    var m: Int, n: Int, k: Int
    var transA = false, transB = false
    var padA = 0, padB = 0, padC = 0
    var alpha: Float = 1, beta: Float = 0
    var lda: Int { (transA ? m : k) + padA }
    var ldb: Int { (transB ? k : n) + padB }
    var ldc: Int { n + padC }
    var testDescription: String { "\(m)x\(n)x\(k) t\(transA ? 1 : 0)\(transB ? 1 : 0) pad\(padA)/\(padB)/\(padC) α\(alpha) β\(beta)" }

    /// Runs `body` (which computes into C) and the reference on the same inputs; returns the worst error
    /// scaled by the tolerance (> 1 fails) and whether anything outside C's m×n window changed.
    func compare(seed: UInt64, body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void)
        -> (worst: Float, where: String, paddingTouched: Bool) {
        var rng = SplitMix(state: seed)
        let a = rng.floats(max(1, (transA ? k : m) * lda))
        let b = rng.floats(max(1, (transB ? n : k) * ldb))
        var c = rng.floats(max(1, m * ldc))
        if beta == 0 { for i in c.indices { c[i] = .nan } }   // beta 0 must not read C
        var want = c
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in want.withUnsafeMutableBufferPointer { pc in
            KernelSet.reference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda,
                                     b: pb, ldb: ldb, beta: beta, c: pc, ldc: ldc)
        } } }
        var got = c
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in got.withUnsafeMutableBufferPointer { pc in
            body(pa, pb, pc)
        } } }
        // Each output is a k-term dot product of values in [-1, 1]: allow k float roundings of |alpha|.
        let tolerance = 2e-7 * Float(max(k, 1)) * max(1, abs(alpha)) + 1e-6
        var worst: Float = 0, location = ""
        var touched = false
        for i in 0..<m {
            for j in 0..<ldc where i * ldc + j < c.count {
                let index = i * ldc + j
                if j >= n {
                    if got[index].bitPattern != c[index].bitPattern { touched = true }
                    continue
                }
                let error = got[index].isNaN ? .infinity : abs(got[index] - want[index]) / tolerance
                if error > worst { worst = error; location = "[\(i),\(j)] \(got[index]) vs \(want[index])" }
            }
        }
        return (worst, location, touched)
    }
}

/// Edge shapes around a variant's micro-tile and block sizes.
func gemmEdgeCases(for kernels: KernelSet) -> [GEMMCase] {
    let (mr, nr) = kernels.gemmTile
    let ms = Array(Set([1, max(1, mr - 1), mr, mr + 1, 2 * mr + 1, 97])).sorted()
    let ns = Array(Set([1, max(1, nr - 1), nr, nr + 1, 257])).sorted()
    var cases: [GEMMCase] = []
    for m in ms { for n in ns { for k in [1, 17, 257] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (alpha, beta): (Float, Float) = [(1, 0), (0.5, 1), (-2, 0.25)][(m + n + k) % 3]
            cases.append(GEMMCase(m: m, n: n, k: k, transA: ta, transB: tb, padA: (m + k) % 3, padB: n % 2, padC: 3,
                                  alpha: alpha, beta: beta))
        }
    } } }
    return cases
}

@Suite("SGEMM variants against the reference")
struct GEMMVariantTests {
    @Test("edge shapes, transposes, padded strides, alpha/beta (incl. beta 0 over NaN)", arguments: simdKernelSets)
    func edgeShapes(kernels: KernelSet) {
        for (index, testCase) in gemmEdgeCases(for: kernels).enumerated() {
            let result = testCase.compare(seed: UInt64(index)) { a, b, c in
                kernels.gemm(transA: testCase.transA, transB: testCase.transB, m: testCase.m, n: testCase.n, k: testCase.k,
                             alpha: testCase.alpha, a: a, lda: testCase.lda, b: b, ldb: testCase.ldb, beta: testCase.beta,
                             c: c, ldc: testCase.ldc)
            }
            #expect(result.worst <= 1, "\(kernels.gemmVariant) \(testCase.testDescription): \(result.where)")
            #expect(!result.paddingTouched, "\(kernels.gemmVariant) \(testCase.testDescription) wrote outside C's window")
        }
    }

    /// Larger odd shapes that cross every block boundary (m > MC, k > KC, n > NC), on 1, 2 and 3 threads.
    static let largeCases: [GEMMCase] = [
        GEMMCase(m: 301, n: 193, k: 600, padA: 5, padB: 1, padC: 7, alpha: 1, beta: 0),
        GEMMCase(m: 145, n: 257, k: 513, transA: true, padA: 2, alpha: 0.75, beta: 0.5),
        GEMMCase(m: 97, n: 3121, k: 33, transB: true, padB: 3, padC: 1, alpha: -1, beta: 1),
        GEMMCase(m: 128, n: 384, k: 384, alpha: 1, beta: 0),
        GEMMCase(m: 7, n: 11, k: 1025, transA: true, transB: true, alpha: 2, beta: 0),
    ]

    @Test("large odd shapes across block boundaries, 1–3 threads", arguments: simdKernelSets + [.reference], largeCases)
    func largeShapesAndThreads(kernels: KernelSet, testCase: GEMMCase) {
        for threads in [1, 2, 3] {
            let result = testCase.compare(seed: UInt64(threads)) { a, b, c in
                kernels.gemm(transA: testCase.transA, transB: testCase.transB, m: testCase.m, n: testCase.n, k: testCase.k,
                             alpha: testCase.alpha, a: a, lda: testCase.lda, b: b, ldb: testCase.ldb, beta: testCase.beta,
                             c: c, ldc: testCase.ldc, threads: threads)
            }
            #expect(result.worst <= 1, "\(kernels.gemmVariant) \(testCase.testDescription) threads \(threads): \(result.where)")
            #expect(!result.paddingTouched, "\(kernels.gemmVariant) wrote outside C's window")
        }
    }

    /// The workspace-less entry (stack packing) and workspaces too small for the preferred blocks.
    @Test("stack entry point and short workspaces", arguments: simdKernelSets)
    func workspaceFallbacks(kernels: KernelSet) {
        let testCase = GEMMCase(m: 150, n: 300, k: 520, transB: true, padA: 1, padC: 2, alpha: 1.5, beta: 0.5)
        let wanted = kernels.gemmWorkspaceBytes(m: testCase.m, n: testCase.n, k: testCase.k)
        #expect(wanted > 0)
        for bytes in [nil, 0, 100, 40_000, wanted / 3, wanted - 1, wanted, wanted + 13] as [Int?] {
            let result = testCase.compare(seed: 3) { a, b, c in
                kernels.gemmEntryPoint(workspaceBytes: bytes, transA: testCase.transA, transB: testCase.transB,
                                       m: testCase.m, n: testCase.n, k: testCase.k, alpha: testCase.alpha, a: a,
                                       lda: testCase.lda, b: b, ldb: testCase.ldb, beta: testCase.beta, c: c, ldc: testCase.ldc)
            }
            #expect(result.worst <= 1, "\(kernels.gemmVariant) workspace \(bytes.map(String.init) ?? "none"): \(result.where)")
        }
    }

    @Test("k = 0 and alpha = 0 scale C by beta without touching A or B", arguments: kernelSets)
    func degenerateDepth(kernels: KernelSet) {
        var c: [Float] = [1, 2, 3, .nan, 5, 6]
        let empty: [Float] = []
        empty.withUnsafeBufferPointer { none in c.withUnsafeMutableBufferPointer { pc in
            kernels.gemm(m: 2, n: 2, k: 0, a: none, lda: 0, b: none, ldb: 2, beta: 0.5, c: pc, ldc: 3)
        } }
        #expect(c[0] == 0.5 && c[1] == 1 && c[2] == 3 && c[3].isNaN && c[4] == 2.5 && c[5] == 6)
        c.withUnsafeMutableBufferPointer { pc in
            empty.withUnsafeBufferPointer { none in
                kernels.gemm(m: 2, n: 2, k: 0, a: none, lda: 0, b: none, ldb: 2, beta: 0, c: pc, ldc: 3)
            }
        }
        #expect(c == [0, 0, 3, 0, 0, 6], "beta 0 overwrites NaN")
    }

    @Test("concurrent callers, each splitting its own product across threads", arguments: simdKernelSets)
    func concurrentCallers(kernels: KernelSet) async {
        let cases = (0..<8).map { GEMMCase(m: 40 + 7 * $0, n: 130 + 11 * $0, k: 90 + 13 * $0, transB: $0 % 2 == 1, alpha: 1, beta: 0) }
        let results = await withTaskGroup(of: (Int, Float, Bool).self) { group in
            for (index, testCase) in cases.enumerated() {
                group.addTask {
                    let result = testCase.compare(seed: UInt64(100 + index)) { a, b, c in
                        kernels.gemm(transA: false, transB: testCase.transB, m: testCase.m, n: testCase.n, k: testCase.k,
                                     a: a, lda: testCase.lda, b: b, ldb: testCase.ldb, c: c, ldc: testCase.ldc, threads: 2)
                    }
                    return (index, result.worst, result.paddingTouched)
                }
            }
            var all: [(Int, Float, Bool)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == cases.count)
        for (index, worst, touched) in results {
            #expect(worst <= 1 && !touched, "\(kernels.gemmVariant) concurrent case \(index)")
        }
    }

    @Test("the split covers C exactly once with whole tiles")
    func splitCoversC() {
        for (m, n, threads, mr, nr) in [(128, 384, 2, 6, 16), (1000, 7, 3, 6, 16), (5, 5, 4, 6, 16), (512, 512, 7, 6, 32),
                                        (97, 3121, 64, 6, 16)] {
            let plan = GEMMSplit(m: m, n: n, k: 512, threads: threads, mr: mr, nr: nr)
            var covered = 0
            var next = 0
            for part in 0..<plan.parts {
                let (rows, columns) = plan.block(part)
                let range = plan.alongN ? columns : rows
                #expect(range.lowerBound == next, "parts are contiguous")
                #expect(range.lowerBound % (plan.alongN ? nr : mr) == 0, "parts start on a tile boundary")
                next = range.upperBound
                covered += rows.count * columns.count
            }
            #expect(covered == m * n && plan.parts <= threads)
        }
    }
}
