import EnclavaWire
import EnclaveInference
import Foundation
import Testing
@testable import EnclaveRuntime

@Suite struct TensorConversionTests {
    func tensor(_ dtype: Enclava_V1_DataType, _ shape: [Int64], bytes: Int) -> Enclava_V1_Tensor {
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = dtype
        tensor.shape = shape
        tensor.data = Data(repeating: 0, count: bytes)
        return tensor
    }

    @Test func aWellFormedTensorConverts() throws {
        let host = try TensorConversion.hostTensor(name: "x", tensor(.float32, [2, 3], bytes: 24))
        #expect(host.dtype == .float32)
        #expect(host.shape == [2, 3])
        #expect(host.data.count == 24)
        let back = TensorConversion.wireTensor(host)
        #expect(back.shape == [2, 3] && back.dtype == .float32 && back.data.count == 24)
    }

    @Test(arguments: [
        (Enclava_V1_DataType.float32, [Int64(2), 3], 20),   // too short
        (.float32, [2, 3], 28),                            // too long
        (.int64, [4], 16),                                 // int64 is 8 bytes each
        (.unspecified, [1], 4),                            // no dtype
        (.float32, [-1], 0),                               // negative dimension
        (.float32, [Int64.max, 2], 0),                     // overflow
        (.float32, [1 << 20, 1 << 20], 0),                 // above the element cap
    ])
    func malformedTensorsAreRefusedNamingTheInput(dtype: Enclava_V1_DataType, shape: [Int64], bytes: Int) {
        do {
            _ = try TensorConversion.hostTensor(name: "features", tensor(dtype, shape, bytes: bytes))
            Issue.record("accepted a malformed tensor")
        } catch {
            #expect(error.input == "features")
            #expect(error.reason == RuntimeReason.invalidTensor)
            #expect(error.message.contains("features"))
        }
    }

    @Test func tooManyInputsAreRefused() {
        var inputs: [String: Enclava_V1_Tensor] = [:]
        for index in 0..<5 { inputs["x\(index)"] = tensor(.float32, [1], bytes: 4) }
        #expect(throws: TensorRejection.self) {
            _ = try TensorConversion.hostInputs(inputs, limits: TensorLimits(maxInputs: 4))
        }
        #expect(throws: TensorRejection.self) { _ = try TensorConversion.hostInputs([:]) }
    }
}
