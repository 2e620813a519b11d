import Foundation
import Testing
import EnclaveInference

/// The bundled demo model (Manifests/fraud-detector) against the outputs onnxruntime computed for it.
@Suite("Fraud-detector demo model")
struct FraudDetectorTests {
    let modelBytes: [UInt8]
    let golden: GoldenFile

    init() throws {
        modelBytes = try TestPaths.bytes(TestPaths.fraudDetector.appendingPathComponent("model.onnx"))
        golden = try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: TestPaths.fraudDetector.appendingPathComponent("golden.json")))
    }

    @Test func declaresItsInputsAndOutputs() throws {
        let model = try loadModel(modelBytes)
        #expect(model.inputs == [TensorSpec(name: "features", dtype: .float32, shape: [nil, 8], dimensionNames: ["N", nil])])
        #expect(model.outputs.map(\.name) == ["probabilities"])
        #expect(model.outputs[0].dtype == .float32)
        #expect(model.outputs[0].shape == [nil, 2])
        #expect(model.opsetVersion == 13)
        #expect(model.weightByteCount >= (8 * 16 + 16 + 16 * 8 + 8 + 2 * 8 + 2 + 16) * 4)
    }

    @Test func matchesOnnxRuntimeGolden() throws {
        // Loaded with the production policy: sealed memory must be locked.
        let model = try InferenceModel(onnx: modelBytes, memoryLockPolicy: .required)
        let input = try #require(golden.inputs["features"]).hostTensor
        let expected = try #require(golden.outputs["probabilities"])
        let result = try model.run(["features": input])
        let output = try #require(result["probabilities"])
        #expect(output.dtype == .float32)
        #expect(output.shape == expected.shape)
        let error = maxAbsError(try #require(output.float32Values), expected.data.map { Float($0) })
        #expect(error <= 1e-5, "max abs error \(error) against onnxruntime")
        // The legitimate row scores low, the fraud-like row high.
        let values = output.float32Values!
        #expect(values[1] < 0.5 && values[3] > 0.5)
    }

    @Test func sampleInputRuns() throws {
        let model = try loadModel(modelBytes)
        let sample = try JSONDecoder().decode(JSONTensor.self, from: Data(contentsOf: TestPaths.fraudDetector.appendingPathComponent("sample-input.json")))
        #expect(sample.shape == [2, 8])
        let output = try #require(try model.run(["features": sample.hostTensor])["probabilities"])
        #expect(output.shape == [2, 2])
        let p = output.float32Values!
        #expect(abs(p[0] + p[1] - 1) < 1e-5 && abs(p[2] + p[3] - 1) < 1e-5)
    }

    @Test(arguments: [0, 1, 3, 8, 33])
    func dynamicBatchGivesTheSameRowsAsOneByOne(batch: Int) throws {
        let model = try loadModel(modelBytes)
        let rows = golden.inputs["features"]!.data.map { Float($0) }
        let rowCount = rows.count / 8
        var features: [Float] = []
        for index in 0..<batch { features += rows[(index % rowCount) * 8..<(index % rowCount + 1) * 8] }
        let output = try model.run(["features": HostTensor(float32: features, shape: [batch, 8])])["probabilities"]!
        #expect(output.shape == [batch, 2])
        let expected = golden.outputs["probabilities"]!.data.map { Float($0) }
        let got = output.float32Values!
        for index in 0..<batch {
            let row = index % rowCount
            #expect(maxAbsError(Array(got[index * 2..<index * 2 + 2]), Array(expected[row * 2..<row * 2 + 2])) <= 1e-5)
        }
    }

    @Test func concurrentRunsAgree() async throws {
        let model = try loadModel(modelBytes)
        let input = golden.inputs["features"]!.hostTensor
        let expected = golden.outputs["probabilities"]!.data.map { Float($0) }
        let errors = try await withThrowingTaskGroup(of: Float.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    let output = try model.run(["features": input])["probabilities"]!
                    return maxAbsError(output.float32Values!, expected)
                }
            }
            var all: [Float] = []
            for try await error in group { all.append(error) }
            return all
        }
        #expect(errors.count == 32)
        #expect(errors.allSatisfy { $0 <= 1e-5 })
    }

    @Test func concurrentRunsOnThreadsAgree() throws {
        let model = try loadModel(modelBytes)
        let input = golden.inputs["features"]!.hostTensor
        let expected = golden.outputs["probabilities"]!.data.map { Float($0) }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<10 {
                guard let output = try? model.run(["features": input])["probabilities"],
                      maxAbsError(output.float32Values!, expected) <= 1e-5 else {
                    failures.increment()
                    continue
                }
            }
        }
        #expect(failures.value == 0)
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
