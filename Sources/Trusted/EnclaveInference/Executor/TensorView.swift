/// A read-only view of one value during a run: its type, shape and bytes (in the weight store or the
/// request's workspace).
struct TensorView {
    let dtype: TensorDataType
    let shape: [Int]
    let bytes: UnsafeRawBufferPointer

    /// The elements as floats (only for float32 values).
    var floats: UnsafeBufferPointer<Float> {
        precondition(dtype == .float32, "float view of a \(dtype) tensor")
        return bytes.bindMemory(to: Float.self)
    }
}

/// A writable view of one output value during a run.
struct MutableTensorView {
    let dtype: TensorDataType
    let shape: [Int]
    let bytes: UnsafeMutableRawBufferPointer

    var floats: UnsafeMutableBufferPointer<Float> {
        precondition(dtype == .float32, "float view of a \(dtype) tensor")
        return bytes.bindMemory(to: Float.self)
    }
}
