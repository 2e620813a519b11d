import Foundation

/// Command-line options of enclava-bench.
struct BenchOptions {
    var quick = false
    var sgemm = true
    var rows = true
    var threads = [1, 2]
    var shapes: [(m: Int, k: Int, n: Int)] = [(128, 384, 384), (128, 384, 1536), (128, 1536, 384), (512, 512, 512)]
    /// MiniLM forward latency (`--minilm-only`): the model file and the (batch, sequence) shapes.
    var minilm = false
    var profile = false
    var model = "../shared/models/all-MiniLM-L6-v2/model.onnx"
    var minilmShapes: [(batch: Int, sequence: Int)] = [(1, 16), (1, 128), (8, 128), (1, 256)]

    init(arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick": quick = true
            case "--sgemm-only": rows = false
            case "--rows-only": sgemm = false
            case "--minilm-only":
                (sgemm, rows, minilm) = (false, false, true)
            case "--model": model = rest.popFirst() ?? model
            case "--profile": profile = true
            case "--minilm-shapes":
                minilmShapes = (rest.popFirst() ?? "").split(separator: ",").compactMap { text in
                    let parts = text.split(separator: "x").compactMap { Int($0) }
                    return parts.count == 2 && parts.allSatisfy { $0 > 0 } ? (parts[0], parts[1]) : nil
                }
            case "--threads":
                threads = (rest.popFirst() ?? "1").split(separator: ",").compactMap { Int($0) }.filter { (1...64).contains($0) }
            case "--shapes":
                shapes = (rest.popFirst() ?? "").split(separator: ",").compactMap { text in
                    let parts = text.split(separator: "x").compactMap { Int($0) }
                    return parts.count == 3 && parts.allSatisfy { $0 > 0 } ? (parts[0], parts[1], parts[2]) : nil
                }
            default:
                FileHandle.standardError.write(Data("enclava-bench: unknown option \(argument); use --quick, --sgemm-only, --rows-only, --threads 1,2, --shapes MxKxN,..., --minilm-only [--model PATH] [--minilm-shapes BxS,...] [--profile]\n".utf8))
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
