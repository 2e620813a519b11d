import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// The models that must keep batching across sessions are proven row-independent, and what the proof
/// claims holds when they run: each request's rows give the same result beside other rows as alone.
@Suite("Batch-row independence proofs")
struct BatchRowProofTests {
    @Test(arguments: ["all-MiniLM-L6-v2", "tiny-bert"])
    func transformerEncodersAreProven(_ name: String) throws {
        let verdict = try TransformerGoldenTests.models.model(name).rowIndependence
        #expect(verdict.isProven, "\(verdict)")
        #expect(verdict.node == nil)
    }

    /// `enclava package` reports the verdict from the planned graph before attention fusion; it agrees.
    @Test func thePackagingCheckReachesTheSameVerdicts() throws {
        let miniLM = try TestPaths.bytes(TestPaths.models.appendingPathComponent("all-MiniLM-L6-v2/model.onnx"))
        #expect(try miniLM.withUnsafeBytes { try ModelSupport.check(onnx: $0) }.rowIndependence.isProven)
        let reduceMean = Onnx.model(
            nodes: [.init(op: "ReduceMean", inputs: ["x"], outputs: ["m"], intAttributes: ["keepdims": 1], intsAttributes: ["axes": [0]]),
                    .init(op: "Add", inputs: ["x", "m"], outputs: ["y"])],
            inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)])
        let verdict = try reduceMean.withUnsafeBytes { try ModelSupport.check(onnx: $0) }.rowIndependence
        #expect(!verdict.isProven && verdict.node == "ReduceMean 'reducemean_m'")
    }

    @Test func theFraudDetectorIsProven() throws {
        let model = try loadModel(try TestPaths.bytes(TestPaths.fraudDetector.appendingPathComponent("model.onnx")))
        #expect(model.rowIndependence.isProven, "\(model.rowIndependence)")
    }

    /// Graphs that move data only within rows: softmax over a feature axis, an embedding lookup, a reshape
    /// whose shape is computed from the input's shape (as torch exports it), a transpose that comes back,
    /// a constant expanded to one row per input row.
    @Test func rowWiseGraphsAreProven() throws {
        let softmax = Onnx.model(nodes: [.init(op: "Softmax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 1])],
                                 inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)])
        let embedding = Onnx.model(nodes: [.init(op: "Gather", inputs: ["w", "ids"], outputs: ["y"])],
                                   initializers: [.init(name: "w", dims: [3, 2], floats: [1, 2, 3, 4, 5, 6])],
                                   inputs: [("ids", 7, [.param("N"), .param("S")])], outputs: [("y", nil)])
        let heads = Onnx.model(
            nodes: [.init(op: "Shape", inputs: ["x"], outputs: ["s"]),
                    .init(op: "Gather", inputs: ["s", "zero"], outputs: ["n"], intAttributes: ["axis": 0]),
                    .init(op: "Unsqueeze", inputs: ["n", "axes"], outputs: ["n1"]),
                    .init(op: "Concat", inputs: ["n1", "rest"], outputs: ["target"], intAttributes: ["axis": 0]),
                    .init(op: "Reshape", inputs: ["x", "target"], outputs: ["r"]),
                    .init(op: "Transpose", inputs: ["r"], outputs: ["t"], intsAttributes: ["perm": [0, 2, 1]]),
                    .init(op: "Transpose", inputs: ["t"], outputs: ["u"], intsAttributes: ["perm": [0, 2, 1]]),
                    .init(op: "Flatten", inputs: ["u"], outputs: ["y"], intAttributes: ["axis": 1])],
            initializers: [.init(name: "zero", dims: [], rawData: Array(repeating: 0, count: 8), dataType: 7),
                           BatchRowAnalysisTests.int64s("axes", [0]), BatchRowAnalysisTests.int64s("rest", [2, -1])],
            inputs: [("x", 1, [.param("N"), .value(6)])], outputs: [("y", nil)])
        let expanded = Onnx.model(
            nodes: [.init(op: "Shape", inputs: ["x"], outputs: ["s"]),
                    .init(op: "Expand", inputs: ["c", "s"], outputs: ["e"]),
                    .init(op: "Add", inputs: ["x", "e"], outputs: ["y"])],
            initializers: [.init(name: "c", dims: [1, 4], floats: [1, 2, 3, 4])],
            inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)])
        let floats = (0..<18).map { Float($0 % 7) * 0.5 - 1 }
        let cases: [(String, [UInt8], (Int) -> [String: HostTensor])] = [
            ("softmax", softmax, { rows in ["x": HostTensor(float32: Array(floats[0..<(rows * 4)]), shape: [rows, 4])] }),
            ("embedding", embedding, { rows in ["ids": HostTensor(int64: (0..<(rows * 2)).map { Int64($0 % 3) }, shape: [rows, 2])] }),
            ("heads", heads, { rows in ["x": HostTensor(float32: Array(floats[0..<(rows * 6)]), shape: [rows, 6])] }),
            ("expanded", expanded, { rows in ["x": HostTensor(float32: Array(floats[0..<(rows * 4)]), shape: [rows, 4])] }),
        ]
        for (name, bytes, inputs) in cases {
            let model = try loadModel(bytes)
            #expect(model.rowIndependence.isProven, "\(name): \(model.rowIndependence)")
            // What the proof claims: the first row's result is the same beside two more rows as alone.
            let together = try #require(try model.run(inputs(3))["y"]?.float32Values)
            let alone = try #require(try model.run(inputs(1))["y"]?.float32Values)
            #expect(Array(together[0..<alone.count]) == alone, "\(name)")
        }
    }

    /// torch's attention-mask gather over the flattened mask is proven, and does what the proof says: each
    /// row gets its own mask row back, beside other rows as alone.
    @Test func theFlattenedMaskGatherIsProvenAndKeepsEachRowsBlock() throws {
        let model = try loadModel(Onnx.model(nodes: BatchRowAnalysisTests.maskGather(), initializers: BatchRowAnalysisTests.maskGatherConstants,
                                             inputs: BatchRowAnalysisTests.maskInputs, outputs: [("y", nil)]))
        #expect(model.rowIndependence.isProven, "\(model.rowIndependence)")
        let mask: [Int64] = [1, 1, 0, 1, 0, 0, 1, 1, 1]
        let together = try model.run(["mask": HostTensor(int64: mask, shape: [3, 3])])["y"]
        #expect(together?.shape == [3, 3] && together?.int64Values == mask)
        let alone = try model.run(["mask": HostTensor(int64: Array(mask[3..<6]), shape: [1, 3])])["y"]
        #expect(alone?.int64Values == Array(mask[3..<6]))
    }

    /// tiny-bert with two requests of different lengths padded to one batch: each row's hidden states are
    /// those of the request run alone (the attention mask keeps the padding out).
    @Test func aProvenEncoderGivesEachRowItsResultAlone() throws {
        let model = try TransformerGoldenTests.models.model("tiny-bert")
        #expect(model.rowIndependence.isProven)
        let ids: [Int64] = [101, 7, 8, 9, 102, 101, 5, 102, 0, 0]
        let mask: [Int64] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        func inputs(_ rows: Range<Int>) -> [String: HostTensor] {
            let range = (rows.lowerBound * 5)..<(rows.upperBound * 5)
            return ["input_ids": HostTensor(int64: Array(ids[range]), shape: [rows.count, 5]),
                    "attention_mask": HostTensor(int64: Array(mask[range]), shape: [rows.count, 5]),
                    "token_type_ids": HostTensor(int64: Array(repeating: 0, count: range.count), shape: [rows.count, 5])]
        }
        let together = try #require(try model.run(inputs(0..<2))["last_hidden_state"]?.float32Values)
        let first = try #require(try model.run(inputs(0..<1))["last_hidden_state"]?.float32Values)
        let second = try #require(try model.run(inputs(1..<2))["last_hidden_state"]?.float32Values)
        #expect(together.count == first.count + second.count)
        #expect(maxAbsError(Array(together[..<first.count]), first) <= 1e-5)
        #expect(maxAbsError(Array(together[first.count...]), second) <= 1e-5)
    }
}
