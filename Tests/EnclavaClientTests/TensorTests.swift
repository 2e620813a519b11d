import EnclavaClient
import Testing

/// ``Tensor``: the public value `runInference(model:inputs:)` takes; every one is consistent when it exists.
struct TensorTests {
    @Test func typedInitializersRoundTripLittleEndian() throws {
        let floats = try Tensor(shape: [1, 3], float32: [1.5, -2, 0.25])
        #expect(floats.dtype == .float32 && floats.shape == [1, 3] && floats.data.count == 12)
        #expect(Array(floats.data[0..<4]) == [0x00, 0x00, 0xC0, 0x3F])  // 1.5, little-endian
        #expect(floats.floats == [1.5, -2, 0.25])
        #expect(floats.int64s == nil)
        #expect(try Tensor(shape: [2], int64: [-1, 1 << 40]).int64s == [-1, 1 << 40])
        #expect(try Tensor(shape: [2], int32: [7, -7]).int32s == [7, -7])
        #expect(try Tensor(shape: [3], bool: [true, false, true]).data == [1, 0, 1])
        #expect(try Tensor(shape: [0, 8], float32: []).elementCount == 0)
    }

    @Test(arguments: [
        (Tensor.DataType.float32, [2, 3], 20, "needs 24 bytes"),
        (Tensor.DataType.int64, [1, -1], 0, "negative dimension"),
        (Tensor.DataType.bool, [2], 2, "must be 0 or 1"),
        (Tensor.DataType.float32, [1 << 20, 1 << 20], 0, "more than"),
        (Tensor.DataType.int32, Array(repeating: 1, count: 17), 4, "at most 16 dimensions"),
    ])
    func inconsistentTensorsAreRefused(dtype: Tensor.DataType, shape: [Int], byteCount: Int, words: String) {
        let data: [UInt8] = dtype == .bool ? [1, 2] : Array(repeating: 0, count: byteCount)
        let error = #expect(throws: ClientError.self) { try Tensor(dtype: dtype, shape: shape, data: data) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
    }

    @Test func overflowingShapesAreRefusedNotWrapped() {
        #expect(throws: ClientError.self) { try Tensor.elementCount([Int.max, 2]) }
        #expect(throws: ClientError.self) { try Tensor.elementCount([Int.max / 2 + 1, 2, 0]) }
    }
}
