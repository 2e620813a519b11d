import EnclaveKernels
import Foundation

/// C[m×n] = A[m×k] · B[k×n] for one shape, variant and thread count.
struct GEMMBenchmark {
    let shape: (m: Int, k: Int, n: Int)
    let threads: Int
    let kernels: KernelSet
    let quick: Bool
    /// Multiply by a B packed once beforehand (weights), instead of packing it on every call.
    var prepackedB = false

    struct Result {
        let line: String
    }

    func run() -> Result {
        let (m, k, n) = shape
        var seed: UInt32 = 12345
        func next() -> Float {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            return Float(seed >> 8) / Float(1 << 24) - 0.5
        }
        let a = (0..<(m * k)).map { _ in next() }
        let b = (0..<(k * n)).map { _ in next() }
        let pc = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * n)
        pc.initialize(repeating: 0)
        defer { pc.deallocate() }
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        // Aim at ~0.6 s per configuration (less for the slow reference), at least 5 runs.
        let budget = quick ? 0.15 : (kernels.isa == "ref" ? 0.5 : 0.6)
        var walls: [Double] = [], cpus: [Double] = []
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: kernels.packedByteCount(k: k, n: n), alignment: 64)
            defer { storage.deallocate() }
            let packed = kernels.packB(k: k, n: n, b: pb, ldb: n, into: storage)
            let call = {
                if prepackedB {
                    kernels.gemm(m: m, a: pa, lda: k, packedB: packed, c: pc, ldc: n, threads: threads)
                } else {
                    kernels.gemm(m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc, ldc: n, threads: threads)
                }
            }
            call()
            call()   // warm-up: page faults, caches, thread pool
            let start = Clock.wall()
            while walls.count < 5 || (Clock.wall() - start < budget && walls.count < 400) {
                let (w0, c0) = (Clock.wall(), Clock.threadCPU())
                call()
                let (w1, c1) = (Clock.wall(), Clock.threadCPU())
                walls.append(w1 - w0)
                cpus.append(c1 - c0)
            }
        } }
        let wallRate = flops / median(walls) * 1e-9
        let cpuRate = threads == 1 ? flops / median(cpus) * 1e-9 : wallRate
        let text = "sgemm variant=\(kernels.gemmVariant)\(prepackedB ? "+packedB" : "") threads=\(threads) shape=\(m)x\(k)x\(n) " +
            "gflops=\(String(format: "%.1f", cpuRate)) wall_gflops=\(String(format: "%.1f", wallRate)) runs=\(walls.count)"
        return Result(line: text)
    }
}
