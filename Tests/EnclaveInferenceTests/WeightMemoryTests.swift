import EnclavaTesting
import Foundation
import Testing
@testable import EnclaveInference

/// DESIGN.md §5 as the kernel reports it: a real model's decoded weights, and the outputs of a run, are in
/// locked (`lo`), dump-excluded (`dd`), wiped-on-fork (`wf`) pages.
@Suite struct WeightMemoryTests {
    @Test func decodedWeightsAreInSecretMemory() throws {
        let bytes = try TestPaths.bytes(TestPaths.models.appendingPathComponent("tiny-bert/model.onnx"))
        var statistics = OnnxModelDecoder.Statistics()
        let (_, weights) = try bytes.withUnsafeBytes {
            try OnnxModelDecoder.decode($0, inPlace: nil, limits: ModelLimits(), lockPolicy: .required, statistics: &statistics)
        }
        #expect(weights.byteCount > 1 << 16)
        let map = try ProcessMemoryMap()
        for offset in [0, weights.byteCount / 2, weights.byteCount - 1] {
            let byte = weights.bytes(WeightRef(offset: offset, byteCount: 1, dtype: .bool, shape: [1]))
            let mapping = try #require(map.mapping(containing: byte.baseAddress!))
            #expect(mapping.isSecretMemory, "weight byte \(offset): VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
        }
    }

    @Test func modelOutputsAreInSecretMemory() throws {
        let model = try InferenceModel(onnx: Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                                                        inputs: [("x", 1, [.value(1), .value(2048)])],
                                                        outputs: [("y", [.value(1), .value(2048)])]),
                                       memoryLockPolicy: .required)
        let output = try #require(try model.run(["x": HostTensor(float32: Array(repeating: 1, count: 2048), shape: [1, 2048])])["y"])
        #expect(output.float32Values?.first == 1)
        let map = try ProcessMemoryMap()
        let mapping = try #require(output.data.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(mapping.isSecretMemory)
    }
}
