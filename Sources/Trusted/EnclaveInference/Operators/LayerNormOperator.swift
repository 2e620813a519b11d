import EnclaveKernels

/// `LayerNormalization(X, Scale, B)` over the axes from `axis` to the end, with the optional `Mean` and
/// `InvStdDev` outputs. The common case (scale and bias of exactly the normalised size) goes to the
/// layer-norm kernel; other broadcasts and the extra outputs are computed in Swift.
struct LayerNormOperator: ExecutableOperator {
    let label: String
    let axis: Int64
    let epsilon: Float
    let outputCount: Int

    init(_ node: GraphNode) throws {
        try node.requireArity(inputs: 2...3, outputs: 1...3)
        try node.requireOnlyAttributes(["axis", "epsilon", "stash_type"])
        label = node.label
        axis = try node.intAttribute("axis", default: -1)
        epsilon = try node.floatAttribute("epsilon", default: 1e-5)
        guard try node.intAttribute("stash_type", default: 1) == 1 else {
            throw InferenceError(.unsupportedOperator, "\(node.label): only stash_type 1 (float32) is supported",
                                 operators: ["LayerNormalization(stash_type)"])
        }
        outputCount = node.outputs.count
    }

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] {
        try requireFloat32(inputs, label, "LayerNormalization")
        return Array(repeating: .float32, count: outputCount)
    }

    func outputShapes(_ inputs: [[Int]?]) throws -> [[Int]] {
        let x = inputs[0]!
        let a = try normalizeAxis(axis, rank: x.count, label)
        let normalized = Array(x[a...])
        for parameter in inputs.dropFirst().compactMap({ $0 }) where !Broadcast.isUnidirectional(parameter, to: normalized) {
            throw shapeError(label, "scale/bias \(Shape.text(parameter)) do not broadcast to \(Shape.text(normalized))")
        }
        var stats = x
        for d in a..<x.count { stats[d] = 1 }
        return [x] + Array(repeating: stats, count: outputCount - 1)
    }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) throws {
        let x = inputs[0]!, y = outputs[0]
        let a = try normalizeAxis(axis, rank: x.shape.count, label)
        let rows = Shape.elementCount(x.shape[..<a]) ?? 0, cols = Shape.elementCount(x.shape[a...]) ?? 0
        let normalized = Array(x.shape[a...])
        // Scale and bias as exactly `cols` floats.
        func expanded(_ view: TensorView?) -> [Float]? {
            guard let view else { return nil }
            if view.count == cols { return Array(view.floats) }
            var values = [Float](repeating: 0, count: cols)
            values.withUnsafeMutableBytes { raw in
                DataCopy.strided(view.bytes, base: 0, strides: Broadcast.strides(of: view.shape, in: normalized), shape: normalized,
                                 into: raw, width: 4)
            }
            return values
        }
        let scale = expanded(inputs[1])!
        let bias = expanded(inputs.count > 2 ? inputs[2] : nil)
        guard cols > 0 else { return }
        if outputCount == 1 {
            scale.withUnsafeBufferPointer { g in
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        kernels.layerNorm(rows: rows, cols: cols, x: x.floats, gamma: g, beta: b, epsilon: epsilon, y: y.floats)
                    }
                } else {
                    kernels.layerNorm(rows: rows, cols: cols, x: x.floats, gamma: g, beta: nil, epsilon: epsilon, y: y.floats)
                }
            }
            return
        }
        let px = x.floats, py = y.floats
        for r in 0..<rows {
            var sum: Float = 0
            for c in 0..<cols { sum += px[r * cols + c] }
            let mean = sum / Float(cols)
            var variance: Float = 0
            for c in 0..<cols { let d = px[r * cols + c] - mean; variance += d * d }
            let inverse = 1 / (variance / Float(cols) + epsilon).squareRoot()
            for c in 0..<cols { py[r * cols + c] = (px[r * cols + c] - mean) * inverse * scale[c] + (bias?[c] ?? 0) }
            if outputs.count > 1 { outputs[1].floats[r] = mean }
            if outputs.count > 2 { outputs[2].floats[r] = inverse }
        }
    }
}
