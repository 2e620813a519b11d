import EnclavaTesting
import Foundation
import Testing
import EnclaveInference

/// The load-time batch-row independence analysis (DESIGN.md §5): graphs a hostile model author would write
/// to let one request's rows reach another's result are never proven, and the verdict names the step that
/// breaks the proof; the real models (MiniLM, the fraud detector) are proven.
@Suite("Batch-row independence analysis")
struct BatchRowAnalysisTests {
    /// One adversarial graph: x [N, 4] (or the given inputs) → nodes → y, and what the verdict must say.
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let nodes: [Onnx.Node]
        var initializers: [Onnx.Initializer] = []
        var inputs: [(String, Int64, [Onnx.Dim]?)] = [("x", 1, [.param("N"), .value(4)])]
        var outputs = ["y"]
        let node: String?
        let reason: String

        var description: String { name }
        var model: [UInt8] { Onnx.model(nodes: nodes, initializers: initializers, inputs: inputs, outputs: outputs.map { ($0, nil) }) }
    }

    static func int64s(_ name: String, _ values: [Int64]) -> Onnx.Initializer {
        .init(name: name, dims: [Int64(values.count)], rawData: values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } },
              dataType: 7)
    }

    static let x3: [(String, Int64, [Onnx.Dim]?)] = [("x", 1, [.param("N"), .value(2), .value(3)])]

    static let adversarial: [Case] = [
        // The reproduction: Y = X + ReduceMean(X, axes=[0]).
        Case(name: "ReduceMean over axis 0",
             nodes: [.init(op: "ReduceMean", inputs: ["x"], outputs: ["m"], intAttributes: ["keepdims": 1], intsAttributes: ["axes": [0]]),
                     .init(op: "Add", inputs: ["x", "m"], outputs: ["y"])],
             node: "ReduceMean 'reducemean_m'", reason: "ReduceMean reduces over the batch axis"),
        Case(name: "ReduceSum over axes given as an input",
             nodes: [.init(op: "ReduceSum", inputs: ["x", "axes"], outputs: ["y"])], initializers: [int64s("axes", [-2])],
             node: "ReduceSum 'reducesum_y'", reason: "ReduceSum reduces over the batch axis"),
        Case(name: "ReduceMax over every axis (no axes)",
             nodes: [.init(op: "ReduceMax", inputs: ["x"], outputs: ["y"], intAttributes: ["keepdims": 1])],
             node: "ReduceMax 'reducemax_y'", reason: "ReduceMax reduces over the batch axis"),
        Case(name: "Softmax over axis 0",
             nodes: [.init(op: "Softmax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 0])],
             node: "Softmax 'softmax_y'", reason: "takes the softmax over the batch axis"),
        Case(name: "LogSoftmax over axis -3 of a rank-3 input",
             nodes: [.init(op: "LogSoftmax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": -3])], inputs: x3,
             node: "LogSoftmax 'logsoftmax_y'", reason: "takes the log-softmax over the batch axis"),
        Case(name: "ArgMax over axis 0",
             nodes: [.init(op: "ArgMax", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 0])],
             node: "ArgMax 'argmax_y'", reason: "takes the ArgMax over the batch axis"),
        Case(name: "LayerNormalization over every axis",
             nodes: [.init(op: "LayerNormalization", inputs: ["x", "g"], outputs: ["y"], intAttributes: ["axis": 0])],
             initializers: [.init(name: "g", dims: [4], floats: [1, 1, 1, 1])],
             node: "LayerNormalization 'layernormalization_y'", reason: "normalises over the batch axis"),
        Case(name: "MatMul contracting the batch axis (Xᵀ·X)",
             nodes: [.init(op: "Transpose", inputs: ["x"], outputs: ["t"], intsAttributes: ["perm": [1, 0]]),
                     .init(op: "MatMul", inputs: ["t", "x"], outputs: ["y"])],
             node: "MatMul 'matmul_y'", reason: "contracts the batch axis"),
        Case(name: "Gemm with transA contracting the batch axis",
             nodes: [.init(op: "Gemm", inputs: ["x", "w"], outputs: ["y"], intAttributes: ["transA": 1])],
             initializers: [.init(name: "w", dims: [4, 4], floats: Array(repeating: 1, count: 16))],
             node: "Gemm 'gemm_y'", reason: "contracts the batch axis"),
        Case(name: "Reshape folding rows into each other",
             nodes: [.init(op: "Reshape", inputs: ["x", "s"], outputs: ["y"])], initializers: [int64s("s", [2, -1])],
             node: "Reshape 'reshape_y'", reason: "reshapes across the batch axis"),
        Case(name: "Reshape flattening every row into one vector",
             nodes: [.init(op: "Reshape", inputs: ["x", "s"], outputs: ["y"])], initializers: [int64s("s", [-1])],
             node: "Reshape 'reshape_y'", reason: "output 'y' holds the batch rows flattened"),
        Case(name: "Flatten at axis 0",
             nodes: [.init(op: "Flatten", inputs: ["x"], outputs: ["y"], intAttributes: ["axis": 0])], inputs: x3,
             node: "Flatten 'flatten_y'", reason: "flattens the batch axis into the columns"),
        Case(name: "Transpose moving the batch axis to an output's axis 1",
             nodes: [.init(op: "Transpose", inputs: ["x"], outputs: ["y"], intsAttributes: ["perm": [1, 0]])],
             node: "Transpose 'transpose_y'", reason: "output 'y' carries the batch rows on axis 1"),
        Case(name: "Concat along the batch axis",
             nodes: [.init(op: "Concat", inputs: ["x", "x"], outputs: ["y"], intAttributes: ["axis": 0])],
             node: "Concat 'concat_y'", reason: "concatenates along the batch axis"),
        Case(name: "Split along the batch axis",
             nodes: [.init(op: "Split", inputs: ["x"], outputs: ["y", "z"], intAttributes: ["axis": 0])], outputs: ["y", "z"],
             node: "Split 'split_y'", reason: "splits along the batch axis"),
        Case(name: "Gather of the first row",
             nodes: [.init(op: "Gather", inputs: ["x", "i"], outputs: ["y"], intAttributes: ["axis": 0])], initializers: [int64s("i", [0])],
             node: "Gather 'gather_y'", reason: "gathers along the batch axis"),
        Case(name: "Slice keeping the first row",
             nodes: [.init(op: "Slice", inputs: ["x", "s", "e", "a"], outputs: ["y"])],
             initializers: [int64s("s", [0]), int64s("e", [1]), int64s("a", [0])],
             node: "Slice 'slice_y'", reason: "slices along the batch axis"),
        Case(name: "Tile along the batch axis",
             nodes: [.init(op: "Tile", inputs: ["x", "r"], outputs: ["y"])], initializers: [int64s("r", [2, 1])],
             node: "Tile 'tile_y'", reason: "tiles along the batch axis"),
        Case(name: "the batch size used as data (Y = X · N)",
             nodes: [.init(op: "Shape", inputs: ["x"], outputs: ["s"]),
                     .init(op: "Gather", inputs: ["s", "zero"], outputs: ["n"], intAttributes: ["axis": 0]),
                     .init(op: "Cast", inputs: ["n"], outputs: ["f"], intAttributes: ["to": 1]),
                     .init(op: "Mul", inputs: ["x", "f"], outputs: ["y"])],
             initializers: [.init(name: "zero", dims: [], rawData: Array(repeating: 0, count: 8), dataType: 7)],
             node: "Mul 'mul_y'", reason: "it uses the batch size"),
        Case(name: "a shape computed from request data (Reshape)",
             nodes: [.init(op: "Reshape", inputs: ["x", "s"], outputs: ["y"])],
             inputs: [("x", 1, [.param("N"), .value(4)]), ("s", 7, [.value(2)])],
             node: "Reshape 'reshape_y'", reason: "target shape is computed from request data"),
        Case(name: "a shape computed from request data (ConstantOfShape)",
             nodes: [.init(op: "Cast", inputs: ["x"], outputs: ["c"], intAttributes: ["to": 7]),
                     .init(op: "ReduceMax", inputs: ["c"], outputs: ["m"], intAttributes: ["keepdims": 0], intsAttributes: ["axes": [1]]),
                     .init(op: "ConstantOfShape", inputs: ["m"], outputs: ["y"])],
             node: "ConstantOfShape 'constantofshape_y'", reason: "shape is computed from request data"),
        Case(name: "rows combined on different axes (X + Xᵀ)",
             nodes: [.init(op: "Transpose", inputs: ["x"], outputs: ["t"], intsAttributes: ["perm": [1, 0]]),
                     .init(op: "Add", inputs: ["x", "t"], outputs: ["y"])],
             inputs: [("x", 1, [.param("N"), .param("N")])],
             node: "Add 'add_y'", reason: "combines batch rows on axes 0 and 1"),
        Case(name: "the row's position in the batch used as data (X + Range(0, N))",
             nodes: [.init(op: "Shape", inputs: ["x"], outputs: ["s"]),
                     .init(op: "Gather", inputs: ["s", "zero"], outputs: ["n"], intAttributes: ["axis": 0]),
                     .init(op: "Range", inputs: ["zero", "n", "one"], outputs: ["r"]),
                     .init(op: "Cast", inputs: ["r"], outputs: ["f"], intAttributes: ["to": 1]),
                     .init(op: "Add", inputs: ["x", "f"], outputs: ["y"])],
             initializers: [.init(name: "zero", dims: [], rawData: int64Bytes(0), dataType: 7),
                            .init(name: "one", dims: [], rawData: int64Bytes(1), dataType: 7)],
             inputs: [("x", 1, [.param("N")])],
             node: "Cast 'cast_f'", reason: "uses the position of a row within the batch as data"),
        Case(name: "a flattened-row gather reading the next row's block",
             nodes: maskGather(next: true), initializers: maskGatherConstants, inputs: maskInputs,
             node: "Add 'add_shifted'", reason: "uses the position of a row within the batch as data"),
        Case(name: "Squeeze of every size-1 axis (the batch may be 1)",
             nodes: [.init(op: "Squeeze", inputs: ["x"], outputs: ["y"])], inputs: [("x", 1, [.param("N"), .value(1)])],
             node: "Squeeze 'squeeze_y'", reason: "squeezes every axis of size 1 of a tensor whose sizes are not all known"),
        Case(name: "Expand to [N, N]",
             nodes: [.init(op: "Shape", inputs: ["x"], outputs: ["s"]),
                     .init(op: "Gather", inputs: ["s", "zeros"], outputs: ["nn"], intAttributes: ["axis": 0]),
                     .init(op: "Expand", inputs: ["x", "nn"], outputs: ["y"])],
             initializers: [int64s("zeros", [0, 0])], inputs: [("x", 1, [.param("N"), .value(1)])],
             node: "Expand 'expand_y'", reason: "expands across the batch axis"),
    ]

    static func int64Bytes(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    static let maskInputs: [(String, Int64, [Onnx.Dim]?)] = [("mask", 7, [.param("N"), .param("S")])]
    static let maskGatherConstants: [Onnx.Initializer] = [
        .init(name: "zero", dims: [], rawData: int64Bytes(0), dataType: 7), .init(name: "one", dims: [], rawData: int64Bytes(1), dataType: 7),
        int64s("axis0", [0]), int64s("axis1", [1]),
    ]

    /// torch's attention-mask gather: `y[i, k] = Flatten(mask)[i·S + k]`, each row reading its own block of the
    /// flattened mask (`next`: the block of row i + 1 instead).
    static func maskGather(next: Bool = false) -> [Onnx.Node] {
        let shift: [Onnx.Node] = next ? [.init(op: "Add", inputs: ["rows", "one"], outputs: ["shifted"])] : []
        return [
            .init(op: "Shape", inputs: ["mask"], outputs: ["s"]),
            .init(op: "Gather", inputs: ["s", "zero"], outputs: ["n"], intAttributes: ["axis": 0]),
            .init(op: "Gather", inputs: ["s", "one"], outputs: ["k"], intAttributes: ["axis": 0]),
            .init(op: "Range", inputs: ["zero", "n", "one"], outputs: ["rows"])] + shift + [
            .init(op: "Unsqueeze", inputs: [next ? "shifted" : "rows", "axis1"], outputs: ["ru"]),
            .init(op: "Mul", inputs: ["ru", "k"], outputs: ["starts"]),
            .init(op: "Range", inputs: ["zero", "k", "one"], outputs: ["columns"]),
            .init(op: "Unsqueeze", inputs: ["columns", "axis0"], outputs: ["cu"]),
            .init(op: "Add", inputs: ["cu", "starts"], outputs: ["index"]),
            .init(op: "Flatten", inputs: ["mask"], outputs: ["flat"], intAttributes: ["axis": 2]),
            .init(op: "Gather", inputs: ["flat", "index"], outputs: ["g"], intAttributes: ["axis": 0]),
            .init(op: "Reshape", inputs: ["g", "s"], outputs: ["y"])]
    }

    @Test(arguments: adversarial)
    func adversarialGraphsAreNotProvenAndTheBreakingStepIsNamed(_ test: Case) throws {
        let verdict = try loadModel(test.model).rowIndependence
        #expect(!verdict.isProven, "\(verdict)")
        #expect(verdict.node == test.node, "\(verdict)")
        #expect(verdict.reason.contains(test.reason), "\(verdict)")
    }

    @Test func cumulativeOperatorsAreRefusedAtLoad() {
        // CumSum is not an operator Enclava runs, so a model using it (along any axis) is never served at all.
        let model = Onnx.model(nodes: [.init(op: "CumSum", inputs: ["x", "axis"], outputs: ["y"])],
                               initializers: [Self.int64s("axis", [0])],
                               inputs: [("x", 1, [.param("N"), .value(4)])], outputs: [("y", nil)])
        let error = inferenceError { try loadModel(model) }
        #expect(error?.code == .unsupportedOperator)
        #expect(error?.operators == ["CumSum"])
    }

    @Test func inputsWithoutABatchDimensionAreNotProven() throws {
        let scalar = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])], inputs: [("x", 1, [])], outputs: [("y", nil)])
        let verdict = try loadModel(scalar).rowIndependence
        #expect(!verdict.isProven && verdict.node == nil)
        #expect(verdict.reason == "input 'x' is a scalar: it has no batch dimension")
        let unshaped = Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])], inputs: [("x", 1, nil)], outputs: [("y", nil)])
        #expect(try loadModel(unshaped).rowIndependence.reason == "input 'x' declares no shape, so its batch dimension cannot be followed")
    }
}
