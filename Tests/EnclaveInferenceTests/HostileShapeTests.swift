import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// Shapes that a hostile model or request computes: every one is refused with an error before anything
/// is allocated for it — never a crash, never an allocation sized by the attacker.
@Suite("Hostile computed shapes")
struct HostileShapeTests {
    static func int64Bytes(_ values: [Int64]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    @Test func constantOfShapeWithAHugeConstantShapeIsALimit() throws {
        let bytes = Onnx.model(nodes: [.init(op: "ConstantOfShape", inputs: ["s"], outputs: ["y"])],
                               initializers: [.init(name: "s", dims: [2], rawData: Self.int64Bytes([1 << 40, 1 << 20]), dataType: 7)],
                               inputs: [], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let error = inferenceError { try model.run([:]) }
        #expect(error?.code == .resourceLimit, "\(String(describing: error))")
    }

    @Test func reshapeToARequestedHugeShapeIsAnInputError() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Reshape", inputs: ["x", "s"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(4)]), ("s", 7, [.value(2)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let x = HostTensor(float32: [1, 2, 3, 4], shape: [4])
        #expect(try model.run(["x": x, "s": HostTensor(int64: [2, -1], shape: [2])])["y"]?.shape == [2, 2])
        for shape: [Int64] in [[-1, 1 << 62], [Int64.max, Int64.max], [-1, -1], [3, -1], [0, 0]] {
            let error = inferenceError { try model.run(["x": x, "s": HostTensor(int64: shape, shape: [2])]) }
            #expect(error?.code == .invalidArgument, "\(shape): \(String(describing: error))")
        }
    }

    @Test func expandToAHugeShapeIsALimit() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Expand", inputs: ["x", "s"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(1)]), ("s", 7, [.value(3)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let error = inferenceError {
            try model.run(["x": HostTensor(float32: [1], shape: [1]), "s": HostTensor(int64: [1 << 20, 1 << 20, 1 << 20], shape: [3])])
        }
        #expect(error?.code == .resourceLimit, "\(String(describing: error))")
    }

    @Test func rangeWithZeroOrHugeCountIsRefused() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Range", inputs: ["a", "b", "d"], outputs: ["y"])],
                               inputs: [("a", 7, []), ("b", 7, []), ("d", 7, [])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        func run(_ a: Int64, _ b: Int64, _ d: Int64) -> InferenceError? {
            inferenceError { try model.run(["a": HostTensor(int64: [a], shape: []), "b": HostTensor(int64: [b], shape: []),
                                            "d": HostTensor(int64: [d], shape: [])]) }
        }
        #expect(try model.run(["a": HostTensor(int64: [5], shape: []), "b": HostTensor(int64: [-1], shape: []),
                               "d": HostTensor(int64: [-2], shape: [])])["y"]?.int64Values == [5, 3, 1])
        #expect(run(0, 10, 0)?.code == .invalidArgument)
        #expect([.invalidArgument, .resourceLimit].contains(run(Int64.min, Int64.max, 1)?.code))
    }

    @Test func aComputedRankAboveTheLimitIsRefused() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Reshape", inputs: ["x", "s"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(1)]), ("s", 7, [.value(64)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let error = inferenceError {
            try model.run(["x": HostTensor(float32: [1], shape: [1]), "s": HostTensor(int64: Array(repeating: 1, count: 64), shape: [64])])
        }
        #expect(error?.code == .resourceLimit, "\(String(describing: error))")
    }

    @Test func gatherIndicesOutOfRangeAreInputErrors() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Gather", inputs: ["x", "i"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(3), .value(2)]), ("i", 7, [.value(2)])], outputs: [("y", nil)])
        let model = try loadModel(bytes)
        let x = HostTensor(float32: [1, 2, 3, 4, 5, 6], shape: [3, 2])
        #expect(try model.run(["x": x, "i": HostTensor(int64: [-1, 0], shape: [2])])["y"]?.float32Values == [5, 6, 1, 2])
        for bad: [Int64] in [[3, 0], [-4, 0], [Int64.max, 0], [Int64.min, 0]] {
            #expect(inferenceError { try model.run(["x": x, "i": HostTensor(int64: bad, shape: [2])]) }?.code == .invalidArgument)
        }
    }
}
