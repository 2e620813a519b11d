import EnclavaAttestation
import EnclavaClient
import EnclavaWire
import EnclaveInference
import Foundation

/// `enclava-bench end-to-end`: one sentence of 128 tokens through the full encrypted path in simulation —
/// `enclava serve` (host bridge over TCP) in front of `enclava-runtime` serving Manifests/minilm.toml, an
/// attested `ConfidentialSession` reused for every request — beside the same pipeline run in this process
/// (tokenizer, encoder, pooling; and the encoder alone). Prints the median latencies, the overhead of the
/// encrypted path (relay + HPKE + queue) in percent, and the runtime process's peak RSS (VmHWM) beside the
/// model file's size. A benchmark, not a test: nothing here asserts a time.
///
/// Usage: enclava-bench end-to-end [--quick] [--threads N] [--model-dir DIR] [--manifest PATH] [--runs N]
struct EndToEndBenchmark {
    var threads = 1
    var runs = 30
    var modelDirectory = "../shared/models/all-MiniLM-L6-v2"
    var manifest = "Manifests/minilm.toml"
    /// Tokens of the benchmark sentence, `[CLS]` and `[SEP]` included.
    let sequence = 128

    /// Parses the arguments after `end-to-end`, runs, prints and exits the process.
    static func main(_ arguments: [String]) -> Never {
        var bench = EndToEndBenchmark()
        var rest = arguments[...]
        func refuse(_ message: String) -> Never {
            FileHandle.standardError.write(Data("enclava-bench end-to-end: \(message); use --quick, --threads N (1…64), --runs N (3…10000), --model-dir DIR, --manifest PATH\n".utf8))
            exit(2)
        }
        func value(_ option: String) -> String {
            guard let value = rest.popFirst() else { refuse("\(option) needs a value") }
            return value
        }
        func number(_ option: String, _ range: ClosedRange<Int>) -> Int {
            let text = value(option)
            guard let number = Int(text), range.contains(number) else { refuse("\(option) \(text) is not a whole number in \(range)") }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick": bench.runs = 8
            case "--threads": bench.threads = number(argument, 1...64)
            case "--runs": bench.runs = number(argument, 3...10_000)
            case "--model-dir": bench.modelDirectory = value(argument)
            case "--manifest": bench.manifest = value(argument)
            default: refuse("unknown option \(argument)")
            }
        }
        BenchMain.run("end-to-end") { [bench] in
            try await bench.run()
            return true
        }
    }


    func run() async throws {
        let model = modelDirectory + "/model.onnx"
        let modelBytes = try Data(contentsOf: URL(fileURLWithPath: model))
        let vocabulary = try String(contentsOfFile: modelDirectory + "/vocab.txt", encoding: .utf8)
        let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary)
        // "hello" is one token: 126 of them between [CLS] and [SEP].
        let text = Array(repeating: "hello", count: sequence - 2).joined(separator: " ")
        precondition(tokenizer.encode(text, maxLength: 512).count == sequence, "the benchmark sentence is not \(sequence) tokens")
        print("# end-to-end: MiniLM, 1 text of \(sequence) tokens, threads=\(threads), median of \(runs) after warm-up")

        // In-process: the pipeline the enclave runs, and the encoder alone.
        let encoder = try [UInt8](modelBytes).withUnsafeBytes {
            try InferenceModel(onnx: $0, memoryLockPolicy: .allowUnlocked, threads: threads)
        }
        let pipeline = try SentenceEmbeddingPipeline(model: encoder, tokenizer: tokenizer, maxSequenceLength: 256)
        let inputs = tokenizer.encodeBatch([text], maxLength: 256).tensors

        // Through the host bridge and the enclave.
        let world = try ServedWorld(manifest: manifest, modelDirectory: modelDirectory, threads: threads)
        defer { world.stop() }
        let session = try await ConfidentialSession.connect(to: try TTRPCEndpoint(parsing: "127.0.0.1:\(world.port)"),
                                                            policy: world.policy, verifier: world.verifier)
        // The three measurements take turns, so that the load of a shared machine weighs on all of them alike.
        var forwardTimes: [Double] = [], pipelineTimes: [Double] = [], encryptedTimes: [Double] = []
        func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        for index in 0..<(runs + 3) {
            var start = DispatchTime.now().uptimeNanoseconds
            _ = try encoder.run(inputs)
            let forward = seconds(since: start)
            start = DispatchTime.now().uptimeNanoseconds
            _ = try pipeline.embed([text])
            let local = seconds(since: start)
            start = DispatchTime.now().uptimeNanoseconds
            let outputs = try await session.infer([:], texts: [text])
            let encrypted = seconds(since: start)
            guard outputs["embeddings"]?.shape == [1, 384] else { throw BenchError("unexpected answer \(outputs.keys)") }
            if index >= 3 {
                forwardTimes.append(forward)
                pipelineTimes.append(local)
                encryptedTimes.append(encrypted)
            }
        }
        await session.close()
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let (bareForward, barePipeline, endToEnd) = (median(forwardTimes), median(pipelineTimes), median(encryptedTimes))
        let peak = try world.runtimePeakRSS()

        func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1e3) }
        print("e2e threads=\(threads) seq=\(sequence) bare_forward_ms=\(ms(bareForward)) bare_pipeline_ms=\(ms(barePipeline)) "
              + "encrypted_ms=\(ms(endToEnd)) overhead_vs_pipeline_pct=\(String(format: "%.1f", (endToEnd / barePipeline - 1) * 100)) "
              + "overhead_vs_forward_pct=\(String(format: "%.1f", (endToEnd / bareForward - 1) * 100))")
        let ratio = Double(peak.hwm) / Double(modelBytes.count)
        print("rss runtime_vm_hwm_bytes=\(peak.hwm) runtime_vm_rss_bytes=\(peak.rss) model_bytes=\(modelBytes.count) "
              + "hwm_over_model=\(String(format: "%.2f", ratio)) (target <= 2.00)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
