import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// Hostile and broken model files: each is refused with a clear error, never a crash.
@Suite("Bad models")
struct BadModelTests {
    static let demo = (try? TestPaths.bytes(TestPaths.fraudDetector.appendingPathComponent("model.onnx"))) ?? []

    /// x[N,4] → Relu → y: the baseline the crafted variants change one thing in.
    static func reluModel(opset: Int64 = 13) -> [UInt8] {
        Onnx.model(opset: opset, nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                   inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", [.param("N"), .value(4)])])
    }

    @Test func baselineCraftedModelLoadsAndRuns() throws {
        let model = try loadModel(Self.reluModel())
        let y = try model.run(["x": HostTensor(float32: [-1, 2, -3, 4], shape: [1, 4])])["y"]!
        #expect(y.float32Values == [0, 2, 0, 4])
    }

    @Test func emptyFileIsMalformed() {
        #expect(inferenceError { try loadModel([]) }?.code == .malformedModel)
    }

    @Test func truncatedModelsAreRefused() throws {
        try #require(Self.demo.count > 1000)
        // Every cut that breaks the protobuf framing must be refused; none may crash.
        var refused = 0
        for length in stride(from: 1, to: Self.demo.count, by: 7) {
            let error = inferenceError { try loadModel(Array(Self.demo[..<length])) }
            if let error { #expect([.malformedModel, .unsupportedOpset].contains(error.code), "cut at \(length): \(error)") }
            if error != nil { refused += 1 }
        }
        #expect(refused > 0)
        let half = inferenceError { try loadModel(Array(Self.demo[..<(Self.demo.count / 2)])) }
        #expect(half?.code == .malformedModel)
        #expect(half?.message.contains("not a valid protobuf") == true || half?.message.contains("malformed protobuf") == true,
                "\(half?.message ?? "")")
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func garbageBytesAreRefused(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        let garbage = (0..<4096).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let error = inferenceError { try loadModel(garbage) }
        #expect(error != nil && [.malformedModel, .resourceLimit].contains(error!.code), "\(String(describing: error))")
    }

    @Test func flippedBytesNeverCrash() {
        var refused = 0
        for index in stride(from: 0, to: Self.demo.count, by: 13) {
            var bytes = Self.demo
            bytes[index] ^= 0xA5
            // Either it still decodes to something valid, or it is refused with a clear code.
            if let error = inferenceError({ try loadModel(bytes) }) {
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        #expect(refused > 0)
    }

    @Test func unsupportedOperatorsAreAllListed() {
        let bytes = Onnx.model(nodes: [
            .init(op: "Conv", inputs: ["x"], outputs: ["a"]),
            .init(op: "Relu", inputs: ["a"], outputs: ["b"]),
            .init(op: "LSTM", inputs: ["b"], outputs: ["c"]),
            .init(op: "Conv", inputs: ["c"], outputs: ["d"]),
            .init(op: "FusedThing", inputs: ["d"], outputs: ["y"], domain: "com.example"),
        ], inputs: [("x", 1, [.value(1), .value(4)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(bytes) }
        #expect(error?.code == .unsupportedOperator)
        #expect(error?.operators == ["Conv", "LSTM", "com.example:FusedThing"])
        #expect(error?.message.contains("Conv, LSTM, com.example:FusedThing") == true, "\(error?.message ?? "")")
    }

    @Test func unsupportedOpsetIsRefused() {
        let old = inferenceError { try loadModel(Self.reluModel(opset: 9)) }
        #expect(old?.code == .unsupportedOpset)
        #expect(old?.message.contains("opset 9") == true)
        #expect(inferenceError { try loadModel(Self.reluModel(opset: 99)) }?.code == .unsupportedOpset)
    }

    @Test func cyclicGraphIsRefused() {
        let bytes = Onnx.model(nodes: [
            .init(op: "Add", inputs: ["x", "b"], outputs: ["a"]),
            .init(op: "Relu", inputs: ["a"], outputs: ["b"]),
            .init(op: "Identity", inputs: ["a"], outputs: ["y"]),
        ], inputs: [("x", 1, [.value(2)])], outputs: [("y", [.value(2)])])
        let error = inferenceError { try loadModel(bytes) }
        #expect(error?.code == .malformedModel)
        #expect(error?.message.contains("cycle") == true, "\(error?.message ?? "")")
    }

    @Test func missingInitializerIsRefused() {
        let bytes = Onnx.model(nodes: [.init(op: "MatMul", inputs: ["x", "weight"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(1), .value(2)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(bytes) }
        #expect(error?.code == .malformedModel)
        #expect(error?.message.contains("'weight'") == true, "\(error?.message ?? "")")
    }

    @Test func valueDefinedTwiceIsRefused() {
        let bytes = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"]),
                                       .init(op: "Sigmoid", inputs: ["x"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(2)])], outputs: [("y", nil)])
        #expect(inferenceError { try loadModel(bytes) }?.code == .malformedModel)
    }

    @Test func hugeDeclaredDimensionsAreRefused() {
        // A declared input of 2^40 × 2^40 elements: refused at load, nothing allocated for it.
        let input = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                               inputs: [("x", 1, [.value(1 << 40), .value(1 << 40)])], outputs: [("y", nil)])
        let inputError = inferenceError { try loadModel(input) }
        #expect(inputError?.code == .resourceLimit, "\(String(describing: inputError))")
        // An initializer that declares 2^62 elements but carries none.
        let weight = Onnx.model(nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
                                initializers: [.init(name: "w", dims: [1 << 31, 1 << 31], floats: [1, 2])],
                                inputs: [("x", 1, [.value(2)])], outputs: [("y", nil)])
        let weightError = inferenceError { try loadModel(weight) }
        #expect(weightError?.code == .resourceLimit, "\(String(describing: weightError))")
        #expect(weightError?.message.contains("'w'") == true)
        // Too many dimensions.
        let rank = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                              inputs: [("x", 1, Array(repeating: .value(1), count: 40))], outputs: [("y", nil)])
        #expect(inferenceError { try loadModel(rank) }?.code == .resourceLimit)
    }

    @Test func tensorDataThatDoesNotMatchItsShapeIsRefused() {
        let raw = Onnx.model(nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
                             initializers: [.init(name: "w", dims: [4], rawData: [0, 0, 128, 63])],
                             inputs: [("x", 1, [.value(4)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(raw) }
        #expect(error?.code == .malformedModel)
        #expect(error?.message.contains("'w'") == true, "\(error?.message ?? "")")
        let typed = Onnx.model(nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
                               initializers: [.init(name: "w", dims: [3], floats: [1, 2])],
                               inputs: [("x", 1, [.value(3)])], outputs: [("y", nil)])
        #expect(inferenceError { try loadModel(typed) }?.code == .malformedModel)
    }

    @Test func externalDataIsNeverRead() {
        let bytes = Onnx.model(nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
                               initializers: [.init(name: "w", dims: [2], external: true)],
                               inputs: [("x", 1, [.value(2)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(bytes) }
        #expect(error?.code == .malformedModel)
        #expect(error?.message.contains("external") == true, "\(error?.message ?? "")")
    }

    @Test func unsupportedElementTypesAreRefused() {
        let half = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                              inputs: [("x", 10, [.value(2)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(half) }
        #expect(error?.code == .unsupportedDataType)
        #expect(error?.message.contains("float16") == true)
        let intErf = Onnx.model(nodes: [.init(op: "Erf", inputs: ["x"], outputs: ["y"])],
                                inputs: [("x", 7, [.value(2)])], outputs: [("y", nil)])
        #expect(inferenceError { try loadModel(intErf) }?.operators == ["Erf(int64)"])
    }

    @Test func deepNestingIsRefusedBeforeDecoding() {
        // 200 sub-graphs nested in attributes: protobuf-c would recurse without a bound.
        var inner = ProtoWriter()
        inner.string(2, "leaf")
        for _ in 0..<200 {
            var node = ProtoWriter()
            node.string(4, "If")
            node.message(5) { a in a.string(1, "then_branch"); a.data(6, inner.bytes); a.int(20, 5) }
            var graph = ProtoWriter()
            graph.data(1, node.bytes)
            inner = graph
        }
        var model = ProtoWriter()
        model.message(8) { o in o.int(2, 13) }
        model.data(7, inner.bytes)
        let error = inferenceError { try loadModel(model.bytes) }
        #expect(error?.code == .resourceLimit)
        #expect(error?.message.contains("nested") == true, "\(error?.message ?? "")")
    }

    @Test func limitsAreEnforced() {
        let tiny = ModelLimits(maxModelBytes: 100)
        #expect(inferenceError { try loadModel(Self.demo, limits: tiny) }?.code == .resourceLimit)
        let fewNodes = ModelLimits(maxNodes: 3)
        let error = inferenceError { try loadModel(Self.demo, limits: fewNodes) }
        #expect(error?.code == .resourceLimit)
        #expect(error?.message.contains("nodes") == true)
        let smallWeights = ModelLimits(maxWeightBytes: 256)
        #expect(inferenceError { try loadModel(Self.demo, limits: smallWeights) }?.code == .resourceLimit)
    }

    @Test func unknownAttributesAreNotIgnored() {
        let bytes = Onnx.model(nodes: [.init(op: "Softmax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 1, "mystery": 3])],
                               inputs: [("x", 1, [.value(1), .value(2)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(bytes) }
        #expect(error?.code == .unsupportedOperator)
        #expect(error?.message.contains("mystery") == true)
    }

    @Test func decodingMemoryIsBudgeted() {
        // 50,000 empty nodes: 2 bytes each on the wire, far more once decoded. The decoder's allocator
        // refuses to go past maxDecodedBytes instead of following the file's lead.
        var graph = ProtoWriter()
        for _ in 0..<50_000 { graph.data(1, []) }
        var model = ProtoWriter()
        model.message(8) { o in o.int(2, 13) }
        model.data(7, graph.bytes)
        let error = inferenceError { try loadModel(model.bytes, limits: ModelLimits(maxDecodedBytes: 1 << 20)) }
        #expect(error?.code == .resourceLimit, "\(String(describing: error))")
        #expect(error?.message.contains("memory") == true, "\(error?.message ?? "")")
    }

    @Test func garbageTensorProtoIsRefused() {
        let error = inferenceError { try HostTensor(onnxTensorProto: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]) }
        #expect(error?.code == .malformedModel)
        let valid = try? HostTensor(onnxTensorProto: {
            var w = ProtoWriter()
            w.int(1, 2)
            w.int(2, 7)
            w.tag(7, 0); w.varint(UInt64(bitPattern: -5))
            w.tag(7, 0); w.varint(9)
            return w.bytes
        }())
        #expect(valid?.int64Values == [-5, 9])
        #expect(valid?.shape == [2])
    }
}
