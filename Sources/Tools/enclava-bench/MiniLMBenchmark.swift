import EnclaveInference
import Foundation

/// MiniLM (all-MiniLM-L6-v2) forward latency through ``InferenceModel`` for one thread count and a list of
/// (batch, sequence) shapes, printed as `minilm runner=enclava threads=… batch=… seq=… ms=… …` lines that
/// peers/minilm_onnxruntime.py compares with onnxruntime's.
///
/// The inputs are those of the inference benchmark test: token ids `1000 + i % 5000`, a full attention mask,
/// token type 0. One thread is timed with the calling thread's CPU time (robust on a shared machine; the
/// executor then runs everything on the calling thread), more threads with wall time.
struct MiniLMBenchmark {
    let modelPath: String
    let threads: Int
    let shapes: [(batch: Int, sequence: Int)]
    let quick: Bool
    /// Also print the time per operator type of one run.
    var profile = false

    func run() throws -> [String] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: modelPath)))
        let loadStart = Clock.wall()
        let model = try InferenceModel(onnx: bytes, memoryLockPolicy: .allowUnlocked, threads: threads)
        let loadSeconds = Clock.wall() - loadStart
        var lines = ["# minilm: loaded \(modelPath) for \(threads) thread(s) in \(String(format: "%.0f", loadSeconds * 1e3)) ms"]
        for (batch, sequence) in shapes {
            let n = batch * sequence
            let inputs = ["input_ids": HostTensor(int64: (0..<n).map { Int64(1000 + $0 % 5000) }, shape: [batch, sequence]),
                          "attention_mask": HostTensor(int64: Array(repeating: 1, count: n), shape: [batch, sequence]),
                          "token_type_ids": HostTensor(int64: Array(repeating: 0, count: n), shape: [batch, sequence])]
            _ = try model.run(inputs)   // warm-up: planning, workspace, page faults
            _ = try model.run(inputs)
            // ~0.4 s per shape (less with --quick), at least 5 runs.
            let budget = quick ? 0.1 : 0.4
            var walls: [Double] = [], cpus: [Double] = []
            let start = Clock.wall()
            while walls.count < 5 || (Clock.wall() - start < budget && walls.count < 200) {
                let (w0, c0) = (Clock.wall(), Clock.threadCPU())
                _ = try model.run(inputs)
                let (w1, c1) = (Clock.wall(), Clock.threadCPU())
                walls.append(w1 - w0)
                cpus.append(c1 - c0)
            }
            if profile {   // per op type, summed over one more run (wall time of each step)
                var byOp: [String: Double] = [:]
                _ = try model.run(inputs, profile: { label, seconds in
                    byOp[String(label.prefix { $0 != " " }) + (label.hasSuffix("(packed)") ? " (packed)" : ""), default: 0] += seconds
                })
                for (op, total) in byOp.sorted(by: { $0.value > $1.value }) {
                    lines.append("#   \(op): \(String(format: "%.3f", total * 1e3)) ms")
                }
            }
            let times = threads == 1 ? cpus : walls
            lines.append("minilm runner=enclava threads=\(threads) batch=\(batch) seq=\(sequence) "
                         + "ms=\(String(format: "%.2f", median(times) * 1e3)) min_ms=\(String(format: "%.2f", times.min()! * 1e3)) "
                         + "wall_ms=\(String(format: "%.2f", median(walls) * 1e3)) runs=\(walls.count)")
        }
        return lines
    }
}
