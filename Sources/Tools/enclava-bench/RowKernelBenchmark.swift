import EnclaveKernels
import Foundation

/// Nanoseconds per element of the row kernels (exp, tanh, erf, GELU, softmax, layer norm, add, sum), for
/// the reference and the selected variant, on one thread.
struct RowKernelBenchmark {
    let rows: Int, cols: Int
    let quick: Bool

    func run() -> [String] {
        let count = rows * cols
        var seed: UInt32 = 777
        let x = (0..<count).map { _ -> Float in
            seed = seed &* 1_664_525 &+ 1_013_904_223
            return (Float(seed >> 8) / Float(1 << 24) - 0.5) * 8
        }
        let gamma = [Float](repeating: 1.1, count: cols), beta = [Float](repeating: 0.1, count: cols)
        let py = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        py.initialize(repeating: 0)
        defer { py.deallocate() }
        var lines: [String] = []
        let sets: [KernelSet] = KernelSet.selected.isa == "ref" ? [.reference] : [.reference, .selected]
        x.withUnsafeBufferPointer { px in gamma.withUnsafeBufferPointer { pg in beta.withUnsafeBufferPointer { pb in
            do {
                let work: [(String, (KernelSet) -> Void)] = [
                    ("exp", { $0.unary(.exp, x: px, y: py) }),
                    ("tanh", { $0.unary(.tanh, x: px, y: py) }),
                    ("erf", { $0.unary(.erf, x: px, y: py) }),
                    ("gelu", { $0.unary(.gelu, x: px, y: py) }),
                    ("softmax", { $0.softmax(outer: rows, axis: cols, inner: 1, x: px, y: py) }),
                    ("layernorm", { $0.layerNorm(rows: rows, cols: cols, x: px, gamma: pg, beta: pb, epsilon: 1e-12, y: py) }),
                    ("add", { $0.binary(.add, count: count, a: px, b: pg, strideB: 0, y: py) }),
                    ("reduce_sum", { $0.reduce(.sum, rows: rows, cols: cols, x: px, y: py) }),
                ]
                for (name, body) in work {
                    var cells: [String] = []
                    for kernels in sets {
                        body(kernels)
                        var times: [Double] = []
                        let start = Clock.wall()
                        while times.count < 5 || (Clock.wall() - start < (quick ? 0.02 : 0.1) && times.count < 200) {
                            let t0 = Clock.threadCPU()
                            body(kernels)
                            times.append(Clock.threadCPU() - t0)
                        }
                        cells.append("\(kernels.isa)=\(String(format: "%.3f", median(times) / Double(count) * 1e9))")
                    }
                    lines.append("rows kernel=\(name) ns_per_element " + cells.joined(separator: " "))
                }
            }
        } } }
        return lines
    }
}
