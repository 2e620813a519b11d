import EnclavaTesting
import Testing
import EnclaveInference

/// The fused attention step (``AttentionFuser``) against the same graph run op by op: the reference model is
/// the identical graph that also outputs the raw scores, which keeps the fuser from touching it.
@Suite("Attention fusion")
struct AttentionFusionTests {
    /// torch's BERT self-attention on inputs already split into heads: q, k, v `[b, s, h, d]`, an additive
    /// mask, the masked-row `Where(IsNaN(P), 0, P)`, and the scale applied to both Q and Kᵀ.
    static func graph(extraOutput: Bool, maskShape: [Int64], scaleFirst: Bool) -> [UInt8] {
        typealias N = Onnx.Node
        var nodes = [
            N(op: "Transpose", inputs: ["q"], outputs: ["qt"], intsAttributes: ["perm": [0, 2, 1, 3]]),
            N(op: "Transpose", inputs: ["k"], outputs: ["kt"], intsAttributes: ["perm": [0, 2, 3, 1]]),
            N(op: "Transpose", inputs: ["v"], outputs: ["vt"], intsAttributes: ["perm": [0, 2, 1, 3]]),
            N(op: "Mul", inputs: scaleFirst ? ["a", "qt"] : ["qt", "a"], outputs: ["qs"]),
            N(op: "Mul", inputs: ["kt", "b"], outputs: ["ks"]),
            N(op: "MatMul", inputs: ["qs", "ks"], outputs: ["s"]),
            N(op: "Add", inputs: scaleFirst ? ["s", "mask"] : ["mask", "s"], outputs: ["sa"]),
            N(op: "Softmax", inputs: ["sa"], outputs: ["p"], intAttributes: ["axis": -1]),
            N(op: "IsNaN", inputs: ["p"], outputs: ["nan"]),
            N(op: "Where", inputs: ["nan", "zero", "p"], outputs: ["pz"]),
            N(op: "MatMul", inputs: ["pz", "vt"], outputs: ["y"]),
        ]
        if extraOutput { nodes.append(N(op: "Identity", inputs: ["s"], outputs: ["scores"])) }
        // Each input has dimension names of its own, so the executor's own shape checks are what is tested.
        let dims = { (name: String) -> [Onnx.Dim] in ["b", "s", "h", "d"].map { .param(name + $0) } }
        return Onnx.model(nodes: nodes,
                          initializers: [.init(name: "a", dims: [], floats: [0.42]), .init(name: "b", dims: [1], floats: [0.37]),
                                         .init(name: "zero", dims: [], floats: [0])],
                          inputs: [("q", 1, dims("q")), ("k", 1, dims("k")), ("v", 1, dims("v")),
                                   ("mask", 1, maskShape.enumerated().map { .param("m\($0.offset)") })],
                          outputs: [("y", nil)] + (extraOutput ? [("scores", nil)] : []))
    }

    static func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
    }

    /// Sizes around the GEMM tiles (1, primes, 6±1, 16±1) and masks that broadcast in each supported way,
    /// with fully masked rows (−∞ everywhere: NaN → 0) and partly masked ones.
    @Test(arguments: [(1, 1, 1, 1), (1, 5, 3, 7), (2, 7, 2, 16), (1, 17, 4, 5), (2, 13, 12, 32), (1, 6, 1, 15)])
    func fusedMatchesTheUnfusedGraph(batch: Int, sequence: Int, heads: Int, depth: Int) throws {
        for (maskIndex, maskShape) in [[batch, 1, 1, sequence], [batch, 1, sequence, sequence], [1, 1, 1, sequence],
                                       [batch, heads, sequence, sequence], [sequence]].enumerated() {
            for threads in [1, 2] {
                let fused = try InferenceModel(onnx: Self.graph(extraOutput: false, maskShape: maskShape.map(Int64.init), scaleFirst: maskIndex % 2 == 0),
                                               memoryLockPolicy: .allowUnlocked, threads: threads)
                let reference = try InferenceModel(onnx: Self.graph(extraOutput: true, maskShape: maskShape.map(Int64.init), scaleFirst: maskIndex % 2 == 0),
                                                   memoryLockPolicy: .allowUnlocked)
                var seed = UInt64(batch * 1000 + sequence * 100 + heads * 10 + depth)
                let n = batch * sequence * heads * depth
                let maskCount = maskShape.reduce(1, *)
                var mask = [Float](repeating: 0, count: maskCount)
                for i in 0..<maskCount {
                    // Masked keys: the last key of every mask row; and all of the first row when it has more than one.
                    let key = i % sequence
                    if key == sequence - 1 && sequence > 2 { mask[i] = -.infinity }
                    if i < sequence && maskCount > sequence { mask[i] = -.infinity }
                }
                let inputs = ["q": HostTensor(float32: Self.random(n, seed: &seed), shape: [batch, sequence, heads, depth]),
                              "k": HostTensor(float32: Self.random(n, seed: &seed), shape: [batch, sequence, heads, depth]),
                              "v": HostTensor(float32: Self.random(n, seed: &seed), shape: [batch, sequence, heads, depth]),
                              "mask": HostTensor(float32: mask, shape: maskShape)]
                var labels: [String] = []
                let got = try #require(try fused.run(inputs, profile: { label, _ in labels.append(label) })["y"])
                let expected = try #require(try reference.run(inputs)["y"])
                #expect(labels.count == 1 && labels[0].hasPrefix("Attention"), "\(labels)")
                #expect(got.shape == [batch, heads, sequence, depth])
                #expect(got.shape == expected.shape)
                let g = try #require(got.float32Values), e = try #require(expected.float32Values)
                #expect(!g.contains { $0.isNaN })
                #expect(maxAbsError(g, e) <= 2e-6, "mask \(maskShape), threads \(threads)")
            }
        }
    }

    /// Shapes that do not fit are an input error naming the step, not a crash.
    @Test func mismatchedShapesAreRefused() throws {
        let model = try InferenceModel(onnx: Self.graph(extraOutput: false, maskShape: [1, 1, 1, 4], scaleFirst: false),
                                       memoryLockPolicy: .allowUnlocked)
        let q = HostTensor(float32: Array(repeating: 0.5, count: 4 * 2 * 3), shape: [1, 4, 2, 3])
        let shortV = HostTensor(float32: Array(repeating: 0.5, count: 3 * 2 * 3), shape: [1, 3, 2, 3])
        let mask = HostTensor(float32: Array(repeating: 0, count: 4), shape: [1, 1, 1, 4])
        let badMask = HostTensor(float32: Array(repeating: 0, count: 3), shape: [1, 1, 1, 3])
        for inputs in [["q": q, "k": q, "v": shortV, "mask": mask], ["q": q, "k": q, "v": q, "mask": badMask]] {
            #expect(inferenceError { try model.run(inputs) }?.code == .invalidArgument)
        }
    }
}
