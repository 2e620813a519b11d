import EnclaveInference
import Foundation
import Testing
@testable import EnclaveRuntime

/// Batching with the real fraud-detector model: rows run together come back exactly as the golden
/// outputs of rows run alone.
@Suite struct InferenceBatchTests {
    @Test func batchedRowsMatchTheGoldenOutputs() throws {
        let onnx = try [UInt8](Data(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("model.onnx")))
        let model = try InferenceModel(onnx: onnx, memoryLockPolicy: .allowUnlocked)
        let golden = try Golden.load()
        let features = try #require(golden.inputs["features"])
        let all = [UInt8](features.data)
        let rowBytes = 8 * 4
        let parts: [[String: HostTensor]] = [
            ["features": HostTensor(dtype: .float32, shape: [1, 8], data: Array(all[0..<rowBytes]))],
            ["features": HostTensor(dtype: .float32, shape: [3, 8], data: Array(all[rowBytes...]))],
        ]
        let combined = try #require(InferenceBatch.concatenate(parts, rows: [1, 3]))
        #expect(combined["features"]?.shape == [4, 8])
        let split = try #require(InferenceBatch.split(try model.run(combined), rows: [1, 3]))
        let expected = try #require(golden.outputs["probabilities"].map { [UInt8]($0.data) })
        let first = try #require(split[0]["probabilities"])
        let rest = try #require(split[1]["probabilities"])
        #expect(first.shape == [1, 2] && rest.shape == [3, 2])
        let got = try #require(first.float32Values) + (try #require(rest.float32Values))
        let want = HostTensor(dtype: .float32, shape: [4, 2], data: expected).float32Values ?? []
        #expect(got.count == 8 && want.count == 8)
        for (a, b) in zip(got, want) { #expect(abs(a - b) <= 1e-5) }
    }

    @Test func outputsWithoutTheBatchDimensionAreNotSplit() {
        let outputs = ["score": HostTensor(float32: [1, 2], shape: [2])]
        #expect(InferenceBatch.split(outputs, rows: [1, 2]) == nil)
        let mismatched = [["x": HostTensor(float32: [1, 2], shape: [1, 2])], ["x": HostTensor(float32: [1, 2, 3], shape: [1, 3])]]
        #expect(InferenceBatch.concatenate(mismatched, rows: [1, 1]) == nil)
    }
}
