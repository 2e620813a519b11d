import Foundation
import Testing
@testable import EnclaveKernels

/// A deterministic generator so failures reproduce.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func floats(_ count: Int, scale: Float = 2) -> [Float] {
        (0..<count).map { _ in (Float(next() >> 40) / Float(1 << 24) - 0.5) * scale }
    }
}

/// Naive, obviously-correct Swift references (Double accumulation).
enum Naive {
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                     b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(av) * Double(bv)
                }
                let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                out[i * ldc + j] = Float(Double(alpha) * sum + prior)
            }
        }
        return out
    }
}

func maxAbsDifference(_ x: [Float], _ y: [Float]) -> Float {
    precondition(x.count == y.count)
    return zip(x, y).map { abs($0 - $1) }.max() ?? 0
}

/// Distance in units in the last place of the larger magnitude (subnormals: the smallest subnormal);
/// NaN against NaN is 0, NaN against a number is infinite.
func ulpDistance(_ x: Float, _ y: Float) -> Double {
    if x == y || (x.isNaN && y.isNaN) { return 0 }
    if x.isNaN || y.isNaN || x.isInfinite || y.isInfinite { return .infinity }
    let magnitude = max(abs(x), abs(y))
    return abs(Double(x) - Double(y)) / Double(magnitude.ulp)
}

/// Every ISA table this CPU can run, reference first (the selected table is one of them).
let kernelSets: [KernelSet] = KernelSet.available
/// The SIMD variants only (each is tested against `KernelSet.reference`).
let simdKernelSets: [KernelSet] = KernelSet.available.filter { $0.isa != "ref" }
let edgeSizes = [0, 1, 2, 3, 7, 8, 9, 16, 17, 31]
/// Lengths around every vector width (4, 8, 16 lanes, two-vector unrolls) plus primes and a long run.
let lengthSizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 257, 1031]

/// Floats that end exactly at an inaccessible page, so reading or writing one element past the end
/// crashes the test process instead of passing silently. Unmapped on deinit.
final class GuardedFloats {
    let pointer: UnsafeMutableBufferPointer<Float>
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int

    init(count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataBytes = max(count, 1) * MemoryLayout<Float>.stride
        let dataPages = (dataBytes + page - 1) / page
        mappedBytes = (dataPages + 1) * page
        guard let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { fatalError("mmap failed") }
        base = mapped
        let guardPage = mapped + dataPages * page
        precondition(mprotect(guardPage, page, PROT_NONE) == 0, "mprotect failed")
        let start = guardPage - count * MemoryLayout<Float>.stride
        pointer = UnsafeMutableBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count)
    }

    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { pointer[i] = v }
    }

    var readOnly: UnsafeBufferPointer<Float> { UnsafeBufferPointer(pointer) }
    var values: [Float] { Array(pointer) }

    deinit { munmap(base, mappedBytes) }
}
