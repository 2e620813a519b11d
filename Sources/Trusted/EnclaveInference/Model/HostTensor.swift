/// A tensor passed into or out of a model: element type, shape and little-endian bytes.
///
/// A `HostTensor` is plain data and checks nothing by itself; ``InferenceModel/run(_:)`` validates every
/// input against the model's declared ``TensorSpec`` before it allocates anything.
public struct HostTensor: Sendable, Equatable {
    /// The element type.
    public var dtype: TensorDataType
    /// The dimensions; `[]` is a scalar.
    public var shape: [Int]
    /// The elements, row-major, little-endian, `elementCount × dtype.byteCount` bytes, in secure memory.
    public var data: TensorBytes

    /// Wraps bytes already in secure memory (no copy).
    public init(dtype: TensorDataType, shape: [Int], data: TensorBytes) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Copies `data` into secure memory. The array is not cleared: use it for values that are not secret
    /// (constants, tests); plaintext should be written straight into ``TensorBytes``.
    public init(dtype: TensorDataType, shape: [Int], data: [UInt8]) {
        self.init(dtype: dtype, shape: shape, data: TensorBytes(data))
    }

    /// A float32 tensor. `values.count` should equal the product of `shape` (``InferenceModel/run(_:)``
    /// refuses a mismatch with `invalidArgument`).
    public init(float32 values: [Float], shape: [Int]) {
        var bytes = TensorBytes(count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
        self.init(dtype: .float32, shape: shape, data: bytes)
    }

    /// An int64 tensor.
    public init(int64 values: [Int64], shape: [Int]) {
        self.init(dtype: .int64, shape: shape, data: Self.littleEndianBytes(values.map { UInt64(bitPattern: $0) }))
    }

    /// An int32 tensor.
    public init(int32 values: [Int32], shape: [Int]) {
        self.init(dtype: .int32, shape: shape, data: Self.littleEndianBytes(values.map { UInt32(bitPattern: $0) }))
    }

    /// A bool tensor (one byte per element, 0 or 1).
    public init(bool values: [Bool], shape: [Int]) {
        var bytes = TensorBytes(count: values.count)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() { raw[index] = value ? 1 : 0 }
        }
        self.init(dtype: .bool, shape: shape, data: bytes)
    }

    /// The product of ``shape``, or nil when a dimension is negative or the product overflows.
    public var elementCount: Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// The elements as `Float`s, or nil when ``dtype`` is not float32.
    public var float32Values: [Float]? {
        guard dtype == .float32 else { return nil }
        return Self.decode(data, as: UInt32.self).map(Float.init(bitPattern:))
    }

    /// The elements as `Int64`s, or nil when ``dtype`` is not int64.
    public var int64Values: [Int64]? {
        guard dtype == .int64 else { return nil }
        return Self.decode(data, as: UInt64.self).map { Int64(bitPattern: $0) }
    }

    /// The elements as `Int32`s, or nil when ``dtype`` is not int32.
    public var int32Values: [Int32]? {
        guard dtype == .int32 else { return nil }
        return Self.decode(data, as: UInt32.self).map { Int32(bitPattern: $0) }
    }

    /// The elements as `Bool`s, or nil when ``dtype`` is not bool.
    public var boolValues: [Bool]? {
        guard dtype == .bool else { return nil }
        return data.withUnsafeBytes { $0.map { $0 != 0 } }
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> TensorBytes {
        var bytes = TensorBytes(count: values.count * MemoryLayout<T>.size)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: index * MemoryLayout<T>.size, as: T.self)
            }
        }
        return bytes
    }

    static func decode<T: FixedWidthInteger>(_ bytes: TensorBytes, as type: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / size)).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
        }
    }
}

extension HostTensor: CustomStringConvertible {
    public var description: String { "HostTensor(\(dtype), shape: \(shape), \(data.count) bytes)" }
}
