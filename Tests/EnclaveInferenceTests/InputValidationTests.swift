import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// Requests with wrong inputs are refused with `invalidArgument` naming the input, before allocation.
@Suite("Input validation")
struct InputValidationTests {
    let model: InferenceModel

    init() throws {
        model = try loadModel(try TestPaths.bytes(TestPaths.fraudDetector.appendingPathComponent("model.onnx")))
    }

    func refusal(_ inputs: [String: HostTensor]) -> InferenceError? {
        inferenceError { try model.run(inputs) }
    }

    @Test func wrongDtypeNamesTheInputAndBothTypes() {
        let error = refusal(["features": HostTensor(int64: Array(repeating: 1, count: 8), shape: [1, 8])])
        #expect(error?.code == .invalidArgument)
        #expect(error?.inputName == "features")
        #expect(error?.message == "input 'features': expected float32, got int64")
    }

    @Test func wrongRankIsRefused() {
        let error = refusal(["features": HostTensor(float32: Array(repeating: 0, count: 8), shape: [1, 1, 8])])
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("expected rank 2 [N, 8], got rank 3 [1, 1, 8]") == true, "\(error?.message ?? "")")
    }

    @Test func wrongFixedDimensionIsRefused() {
        let error = refusal(["features": HostTensor(float32: Array(repeating: 0, count: 7), shape: [1, 7])])
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("dimension 1 must be 8, got 7") == true, "\(error?.message ?? "")")
    }

    @Test func missingAndUnknownInputsAreNamed() {
        let missing = refusal([:])
        #expect(missing?.code == .invalidArgument)
        #expect(missing?.inputName == "features")
        let unknown = refusal(["features": HostTensor(float32: Array(repeating: 0, count: 8), shape: [1, 8]),
                               "extra": HostTensor(float32: [1], shape: [1])])
        #expect(unknown?.inputName == "extra")
        #expect(unknown?.message.contains("'features' float32 [N, 8]") == true)
    }

    @Test func dataThatDoesNotMatchTheShapeIsRefused() {
        let short = refusal(["features": HostTensor(dtype: .float32, shape: [2, 8], data: Array(repeating: 0, count: 60))])
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("needs 64 bytes of float32 data, got 60") == true, "\(short?.message ?? "")")
    }

    @Test func hugeDeclaredShapeIsRefusedBeforeAllocation() {
        // Claims 2^40 rows with 32 bytes of data: refused by the element limit, never allocated.
        let huge = refusal(["features": HostTensor(dtype: .float32, shape: [1 << 40, 8], data: Array(repeating: 0, count: 32))])
        #expect(huge?.code == .invalidArgument)
        #expect(huge?.message.contains("per-tensor limit") == true, "\(huge?.message ?? "")")
        let overflow = refusal(["features": HostTensor(dtype: .float32, shape: [Int.max / 2, 8], data: [])])
        #expect(overflow?.code == .invalidArgument)
        let negative = refusal(["features": HostTensor(dtype: .float32, shape: [-1, 8], data: [])])
        #expect(negative?.code == .invalidArgument)
    }

    @Test func workspaceLimitAppliesToIntermediates() throws {
        let bytes = try TestPaths.bytes(TestPaths.fraudDetector.appendingPathComponent("model.onnx"))
        let small = try loadModel(bytes, limits: ModelLimits(maxWorkspaceBytes: 4096))
        let rows = 64
        let error = inferenceError { try small.run(["features": HostTensor(float32: Array(repeating: 1, count: rows * 8), shape: [rows, 8])]) }
        #expect(error?.code == .resourceLimit, "\(String(describing: error))")
        #expect(try small.run(["features": HostTensor(float32: Array(repeating: 1, count: 8), shape: [1, 8])])["probabilities"] != nil)
    }

    @Test func sharedSymbolicDimensionsMustAgree() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Add", inputs: ["a", "b"], outputs: ["y"])],
                               inputs: [("a", 1, [.param("N"), .value(2)]), ("b", 1, [.param("N"), .value(2)])],
                               outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let error = inferenceError {
            try model.run(["a": HostTensor(float32: [1, 2], shape: [1, 2]), "b": HostTensor(float32: [1, 2, 3, 4], shape: [2, 2])])
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.inputName == "b")
        #expect(error?.message.contains("'N'") == true)
    }
}
