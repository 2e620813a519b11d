import EnclaveKernels
import Foundation

/// Command-line options of enclava-bench.
struct BenchOptions {
    var quick = false
    var sgemm = true
    var rows = true
    var threads = [1, 2]
    var shapes: [(m: Int, k: Int, n: Int)] = [(128, 384, 384), (128, 384, 1536), (128, 1536, 384), (512, 512, 512)]

    init(arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick": quick = true
            case "--sgemm-only": rows = false
            case "--rows-only": sgemm = false
            case "--threads":
                threads = (rest.popFirst() ?? "1").split(separator: ",").compactMap { Int($0) }.filter { (1...64).contains($0) }
            case "--shapes":
                shapes = (rest.popFirst() ?? "").split(separator: ",").compactMap { text in
                    let parts = text.split(separator: "x").compactMap { Int($0) }
                    return parts.count == 3 && parts.allSatisfy { $0 > 0 } ? (parts[0], parts[1], parts[2]) : nil
                }
            default:
                FileHandle.standardError.write(Data("enclava-bench: unknown option \(argument); use --quick, --sgemm-only, --rows-only, --threads 1,2, --shapes MxKxN,...\n".utf8))
                exit(2)
            }
        }
    }
}

/// Seconds of wall time and of this thread's CPU time.
struct Clock {
    static func wall() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
    static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

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
