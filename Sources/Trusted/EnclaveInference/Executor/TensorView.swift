/// A read-only view of one value during a run: its type, shape and bytes (in the weight store, the
/// request's workspace, or a value computed while planning the request).
struct TensorView {
    let dtype: TensorDataType
    let shape: [Int]
    let bytes: UnsafeRawBufferPointer

    /// Number of elements (the product of ``shape``).
    var count: Int { bytes.count / dtype.byteCount }

    /// The elements as floats (only for float32 values).
    var floats: UnsafeBufferPointer<Float> {
        precondition(dtype == .float32, "float view of a \(dtype) tensor")
        return bytes.bindMemory(to: Float.self)
    }

    /// The elements as `Int64` (only for int64 values).
    var int64s: UnsafeBufferPointer<Int64> {
        precondition(dtype == .int64, "int64 view of a \(dtype) tensor")
        return bytes.bindMemory(to: Int64.self)
    }

    /// The elements as `Int32` (only for int32 values).
    var int32s: UnsafeBufferPointer<Int32> {
        precondition(dtype == .int32, "int32 view of a \(dtype) tensor")
        return bytes.bindMemory(to: Int32.self)
    }

    /// The elements as bytes 0/1 (only for bool values).
    var bools: UnsafeBufferPointer<UInt8> {
        precondition(dtype == .bool, "bool view of a \(dtype) tensor")
        return bytes.bindMemory(to: UInt8.self)
    }

    /// Integer elements (int64, int32 or bool) widened to `Int`; used for shape-like inputs.
    var integers: [Int] {
        switch dtype {
        case .int64: return int64s.map { Int(clamping: $0) }
        case .int32: return int32s.map { Int($0) }
        case .bool: return bools.map { Int($0) }
        case .float32: return floats.map { abs($0) < 9.0e18 ? Int($0.rounded(.towardZero)) : 0 }
        }
    }

    /// Element `index` as a `Double` (any type); used for scalars such as Range bounds.
    func scalar(_ index: Int = 0) -> Double {
        switch dtype {
        case .float32: return Double(floats[index])
        case .int64: return Double(int64s[index])
        case .int32: return Double(int32s[index])
        case .bool: return Double(bools[index])
        }
    }
}

/// A writable view of one output value during a run.
struct MutableTensorView {
    let dtype: TensorDataType
    let shape: [Int]
    let bytes: UnsafeMutableRawBufferPointer

    /// Number of elements (the product of ``shape``).
    var count: Int { bytes.count / dtype.byteCount }

    var floats: UnsafeMutableBufferPointer<Float> {
        precondition(dtype == .float32, "float view of a \(dtype) tensor")
        return bytes.bindMemory(to: Float.self)
    }

    var int64s: UnsafeMutableBufferPointer<Int64> {
        precondition(dtype == .int64, "int64 view of a \(dtype) tensor")
        return bytes.bindMemory(to: Int64.self)
    }

    var int32s: UnsafeMutableBufferPointer<Int32> {
        precondition(dtype == .int32, "int32 view of a \(dtype) tensor")
        return bytes.bindMemory(to: Int32.self)
    }

    var bools: UnsafeMutableBufferPointer<UInt8> {
        precondition(dtype == .bool, "bool view of a \(dtype) tensor")
        return bytes.bindMemory(to: UInt8.self)
    }

    /// The same bytes, read-only.
    var readOnly: TensorView { TensorView(dtype: dtype, shape: shape, bytes: UnsafeRawBufferPointer(bytes)) }
}
