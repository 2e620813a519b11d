import Foundation
import Testing
import EnclaveInference

/// tiny-bert and all-MiniLM-L6-v2 (../shared/models, see PROVENANCE.md there) against onnxruntime's
/// `last_hidden_state` in each model's `golden/` folder: max abs error ≤ 1e-4.
@Suite("Transformer models vs onnxruntime")
struct TransformerGoldenTests {
    struct Case: Decodable {
        let `case`: String
        let shape: [Int]
        let output_shape: [Int]
        let files: [String: String]
    }

    struct Index: Decodable {
        let cases: [Case]
    }

    static func cases(_ model: String) -> [(String, String)] {
        let folder = TestPaths.models.appendingPathComponent(model).appendingPathComponent("golden")
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("index.json")),
              let index = try? JSONDecoder().decode(Index.self, from: data) else { return [] }
        return index.cases.map { (model, $0.case) }
    }

    static let models = ModelCache()

    @Test(arguments: cases("tiny-bert") + cases("all-MiniLM-L6-v2"))
    func lastHiddenStateMatchesOnnxruntime(_ model: String, _ name: String) throws {
        let folder = TestPaths.models.appendingPathComponent(model).appendingPathComponent("golden")
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: folder.appendingPathComponent("index.json")))
        let golden = try #require(index.cases.first { $0.case == name })
        let loaded = try Self.models.model(model)
        var inputs: [String: HostTensor] = [:]
        for input in ["input_ids", "attention_mask", "token_type_ids"] {
            let bytes = try TestPaths.bytes(folder.appendingPathComponent(try #require(golden.files[input])))
            inputs[input] = HostTensor(dtype: .int64, shape: golden.shape, data: bytes)
        }
        let output = try #require(try loaded.run(inputs)["last_hidden_state"])
        // The second run reuses the first one's plan (same input shapes) and must give the same bytes.
        #expect(try loaded.run(inputs)["last_hidden_state"] == output)
        let expected = HostTensor(dtype: .float32, shape: golden.output_shape,
                                  data: try TestPaths.bytes(folder.appendingPathComponent(try #require(golden.files["last_hidden_state"]))))
        #expect(output.shape == golden.output_shape)
        let error = maxAbsError(try #require(output.float32Values), try #require(expected.float32Values))
        print("golden \(model) \(name): max abs error \(error)")
        #expect(error <= 1e-4, "\(model) \(name): max abs error \(error)")
    }

    @Test func twoThreadsGiveTheSameHiddenState() throws {
        let folder = TestPaths.models.appendingPathComponent("all-MiniLM-L6-v2")
        let model = try InferenceModel(onnx: TestPaths.bytes(folder.appendingPathComponent("model.onnx")),
                                       memoryLockPolicy: .allowUnlocked, threads: 2)
        let golden = folder.appendingPathComponent("golden")
        var inputs: [String: HostTensor] = [:]
        for input in ["input_ids", "attention_mask", "token_type_ids"] {
            inputs[input] = HostTensor(dtype: .int64, shape: [1, 128],
                                       data: try TestPaths.bytes(golden.appendingPathComponent("random_len128.\(input).bin")))
        }
        let output = try #require(try model.run(inputs)["last_hidden_state"]?.float32Values)
        let expected = try #require(HostTensor(dtype: .float32, shape: [1, 128, 384],
                                               data: TestPaths.bytes(golden.appendingPathComponent("random_len128.last_hidden_state.bin"))).float32Values)
        #expect(maxAbsError(output, expected) <= 1e-4)
        #expect(inferenceError { try InferenceModel(onnx: [UInt8](), threads: 0) }?.code == .invalidArgument)
        #expect(inferenceError { try InferenceModel(onnx: [UInt8](), threads: 65) }?.code == .invalidArgument)
    }

    /// The load-time rewrites happen on the exported graph: GELU and masked softmax fused, attention fused,
    /// weights packed with their bias adds and GELU folded in (including biases the exporter aliased through Identity).
    @Test func exportedPatternsAreFused() throws {
        let model = try Self.models.model("tiny-bert")
        var labels: [String] = []
        let n = 8
        _ = try model.run(["input_ids": HostTensor(int64: Array(repeating: 7, count: n), shape: [1, n]),
                           "attention_mask": HostTensor(int64: Array(repeating: 1, count: n), shape: [1, n]),
                           "token_type_ids": HostTensor(int64: Array(repeating: 0, count: n), shape: [1, n])],
                          profile: { label, _ in labels.append(label) })
        let count = { (prefix: String) in labels.filter { $0.hasPrefix(prefix) }.count }
        // GELU fused, then folded into its Linear layer's product; attention (transposes, scales, QKᵀ, mask,
        // masked softmax, ·V) one step per layer.
        #expect(count("Gelu") == 0 && count("Erf") == 0, "\(labels)")
        #expect(count("IsNaN") == 0 && count("Softmax") == 0 && count("Attention") == 2, "\(labels)")
        #expect(labels.filter { $0.hasSuffix("(packed)") }.count == 12, "\(labels)")
        #expect(count("Mul") == 0 && count("MatMul") == 12, "\(labels)")
        // Left: 2 embedding adds and per layer 2 residual adds.
        #expect(count("Add") == 6, "\(labels.filter { $0.hasPrefix("Add") })")
    }

    @Test func outOfRangeTokenIdIsAnInputErrorNotACrash() throws {
        let model = try Self.models.model("tiny-bert")
        let ids = HostTensor(int64: [101, 5000, 102], shape: [1, 3])
        let ones = HostTensor(int64: [1, 1, 1], shape: [1, 3])
        let zeros = HostTensor(int64: [0, 0, 0], shape: [1, 3])
        let error = inferenceError { try model.run(["input_ids": ids, "attention_mask": ones, "token_type_ids": zeros]) }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
    }

    @Test func sequenceLongerThanThePositionTableIsRefused() throws {
        let model = try Self.models.model("tiny-bert")
        let n = 129
        let error = inferenceError {
            try model.run(["input_ids": HostTensor(int64: Array(repeating: 1, count: n), shape: [1, n]),
                           "attention_mask": HostTensor(int64: Array(repeating: 1, count: n), shape: [1, n]),
                           "token_type_ids": HostTensor(int64: Array(repeating: 0, count: n), shape: [1, n])])
        }
        #expect(error?.code == .invalidArgument, "\(String(describing: error))")
    }
}

/// Loads each model once per test process.
final class ModelCache: @unchecked Sendable {
    private let lock = NSLock()
    private var loaded: [String: InferenceModel] = [:]

    func model(_ name: String) throws -> InferenceModel {
        lock.lock()
        defer { lock.unlock() }
        if let model = loaded[name] { return model }
        let bytes = try TestPaths.bytes(TestPaths.models.appendingPathComponent(name).appendingPathComponent("model.onnx"))
        let model = try loadModel(bytes)
        loaded[name] = model
        return model
    }
}
