internal import CEnclavaKernels

/// Kernels over the rows of a contiguous matrix: softmax, layer normalisation, reductions.
///
/// Accuracy of the SIMD variants against the references (checked by the tests): softmax within 1e-6
/// absolute; layer norm within 4e-6 · max(1, |y|) absolute; sum and mean within 1e-6 · Σ|x| (they add
/// in a different order than the serial reference); max exact.
extension KernelSet {
    /// Softmax over the middle axis of a contiguous `[outer, axis, inner]` view of `x`, into `y`.
    public func softmax(outer: Int, axis: Int, inner: Int, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
        let total = Self.elements(outer, axis, inner, "softmax")
        precondition(x.count >= total && y.count >= total, "softmax: buffers hold \(x.count)/\(y.count) floats, need \(total)")
        guard total > 0 else { return }
        table.pointee.f32_softmax.fn(outer, axis, inner, x.baseAddress, y.baseAddress)
    }

    /// Layer normalisation over the last axis of a contiguous `[rows, cols]` matrix (ONNX
    /// `LayerNormalization`, axis −1): `y = (x − mean) / √(var + epsilon) · gamma + beta`, biased variance.
    /// - Parameters:
    ///   - gamma: `cols` scales.
    ///   - beta: `cols` offsets, or nil for none.
    public func layerNorm(rows: Int, cols: Int, x: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>,
                          beta: UnsafeBufferPointer<Float>? = nil, epsilon: Float,
                          y: UnsafeMutableBufferPointer<Float>) {
        let total = Self.elements(rows, cols, 1, "layerNorm")
        precondition(x.count >= total && y.count >= total, "layerNorm: buffers hold \(x.count)/\(y.count) floats, need \(total)")
        precondition(gamma.count >= cols && (beta?.count ?? cols) >= cols, "layerNorm: gamma/beta need \(cols) floats")
        guard total > 0 else { return }
        table.pointee.f32_layernorm.fn(rows, cols, x.baseAddress, gamma.baseAddress, beta?.baseAddress, epsilon, y.baseAddress)
    }

    /// `y[r] = reduce(x[r, 0..<cols])` for each of `rows` rows of a contiguous matrix; `cols` ≥ 1.
    public func reduce(_ op: ReduceKernel, rows: Int, cols: Int, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
        let total = Self.elements(rows, cols, 1, op.rawValue)
        precondition(rows == 0 || cols >= 1, "\(op.rawValue): a row needs at least one element")
        precondition(x.count >= total && y.count >= rows, "\(op.rawValue): buffers hold \(x.count)/\(y.count) floats, need \(total)/\(rows)")
        guard rows > 0 else { return }
        let t = table.pointee
        let kernel: enclava_f32_reduce_fn
        switch op {
        case .sum: kernel = t.f32_reduce_sum.fn
        case .mean: kernel = t.f32_reduce_mean.fn
        case .max: kernel = t.f32_reduce_max.fn
        }
        kernel(rows, cols, x.baseAddress, y.baseAddress)
    }

    /// `a · b · c` elements, stopping the process on a negative extent or an overflow.
    static func elements(_ a: Int, _ b: Int, _ c: Int, _ what: String) -> Int {
        precondition(a >= 0 && b >= 0 && c >= 0, "\(what): negative extent")
        let (ab, o1) = a.multipliedReportingOverflow(by: b)
        let (total, o2) = ab.multipliedReportingOverflow(by: c)
        precondition(!o1 && !o2, "\(what): extent overflows")
        return total
    }
}
