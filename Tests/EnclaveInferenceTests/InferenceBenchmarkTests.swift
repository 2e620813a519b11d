import Foundation
import Testing
import EnclaveInference

/// Timings of MiniLM, printed only when `ENCLAVA_BENCH=1` (a benchmark, not a test: nothing is asserted
/// about time). Run in release: `ENCLAVA_BENCH=1 swift test -c release --filter InferenceBenchmark`.
@Suite("Inference benchmark")
struct InferenceBenchmarkTests {
    @Test func miniLMForwardTimings() throws {
        guard ProcessInfo.processInfo.environment["ENCLAVA_BENCH"] == "1" else { return }
        let path = TestPaths.models.appendingPathComponent("all-MiniLM-L6-v2/model.onnx")
        for threads in [1, 2] {
        let model = try InferenceModel(onnx: TestPaths.bytes(path), memoryLockPolicy: .allowUnlocked, threads: threads)
        for (batch, sequence) in [(1, 16), (1, 128), (8, 128), (1, 256)] {
            let n = batch * sequence
            let inputs = ["input_ids": HostTensor(int64: (0..<n).map { Int64(1000 + $0 % 5000) }, shape: [batch, sequence]),
                          "attention_mask": HostTensor(int64: Array(repeating: 1, count: n), shape: [batch, sequence]),
                          "token_type_ids": HostTensor(int64: Array(repeating: 0, count: n), shape: [batch, sequence])]
            _ = try model.run(inputs)
            var times: [Double] = []
            var byOp: [String: Double] = [:]
            for _ in 0..<5 {
                let start = ContinuousClock.now
                _ = try model.run(inputs, profile: { label, seconds in
                    byOp[String(label.prefix { $0 != " " }) + (label.hasSuffix("(packed)") ? " (packed weights)" : ""), default: 0] += seconds
                })
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.attoseconds) * 1e-15 + Double(elapsed.components.seconds) * 1e3)
            }
            times.sort()
            print("bench minilm threads \(threads) (\(batch),\(sequence)): median \(times[2]) ms, min \(times[0]) ms")
            for (op, total) in byOp.sorted(by: { $0.value > $1.value }).prefix(8) {
                print("  \(op): \(total / 5 * 1e3) ms")
            }
        }
        }
    }
}
