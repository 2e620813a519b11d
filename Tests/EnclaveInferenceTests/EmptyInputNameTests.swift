import EnclavaTesting
import Testing
import EnclaveInference

/// An empty input name is ONNX's way to omit an optional input. Concat, Sum, Max, Min and Mean take any number
/// of inputs, all required: a model that leaves one empty used to load and then trap on its first request
/// (an optional unwrapped in the shape pass), found by `make fuzz` (FuzzONNX). It is refused at load now.
@Suite("Empty input names")
struct EmptyInputNameTests {
    static func model(_ op: String, attributes: [String: Int64] = [:]) -> [UInt8] {
        Onnx.model(nodes: [.init(op: op, inputs: ["x", ""], outputs: ["y"], intAttributes: attributes)],
                   inputs: [("x", 1, [.value(1), .value(4)])], outputs: [("y", [.value(1), .value(4)])])
    }

    @Test(arguments: ["Concat", "Sum", "Max", "Min", "Mean"])
    func anEmptyRequiredInputIsRefusedAtLoad(_ op: String) {
        let error = inferenceError { try loadModel(Self.model(op, attributes: op == "Concat" ? ["axis": 1] : [:])) }
        #expect(error?.code == .malformedModel, "\(String(describing: error))")
        #expect(error?.message.contains("input 1 is empty; every input of \(op) is required") == true, "\(String(describing: error))")
    }

    @Test func theSameModelWithTheInputNamedLoadsAndRuns() throws {
        let bytes = Onnx.model(nodes: [.init(op: "Sum", inputs: ["x", "x"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(1), .value(4)])], outputs: [("y", [.value(1), .value(4)])])
        let y = try loadModel(bytes).run(["x": HostTensor(float32: [1, 2, 3, 4], shape: [1, 4])])["y"]!
        #expect(y.float32Values == [2, 4, 6, 8])
    }
}
