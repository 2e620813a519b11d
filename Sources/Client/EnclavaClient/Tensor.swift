import EnclavaWire
import Foundation

/// A model input or output: a data type, a shape and the elements' bytes, little-endian, in row-major order.
///
/// This is the value ``ConfidentialSession/runInference(model:inputs:)`` takes and returns; the wire's
/// protobuf tensors stay behind it. Every `Tensor` is consistent: its byte count is the product of its shape
/// times its element size, at most ``maxElements`` elements, checked when it is made (also for the enclave's
/// outputs).
public struct Tensor: Sendable, Equatable {
    /// The element types a tensor may hold.
    public enum DataType: String, Sendable, CaseIterable {
        /// IEEE 754 single precision.
        case float32
        /// Signed 64-bit integers.
        case int64
        /// Signed 32-bit integers.
        case int32
        /// Booleans, one byte each (0 or 1).
        case bool

        /// Bytes per element.
        public var byteWidth: Int {
            switch self {
            case .float32, .int32: 4
            case .int64: 8
            case .bool: 1
            }
        }
    }

    /// The most elements one tensor may have (as ``TensorJSON/maxElements``).
    public static let maxElements = TensorJSON.maxElements

    /// The element type.
    public let dtype: DataType
    /// The dimensions (each ≥ 0).
    public let shape: [Int]
    /// The elements, little-endian, row-major: `shape.product × dtype.byteWidth` bytes.
    public let data: [UInt8]

    /// Makes a tensor from raw little-endian bytes.
    /// - Throws: ``ClientError`` `invalidInput` when a dimension is negative, the shape has more than
    ///   ``maxElements`` elements, or `data` is not exactly the shape's size in bytes.
    public init(dtype: DataType, shape: [Int], data: [UInt8]) throws {
        let count = try Self.elementCount(shape)
        guard data.count == count * dtype.byteWidth else {
            throw ClientError(.invalidInput, "a \(dtype.rawValue) tensor of shape \(shape) needs \(count * dtype.byteWidth) "
                              + "bytes (\(count) elements × \(dtype.byteWidth)), but \(data.count) were given")
        }
        if dtype == .bool, let bad = data.firstIndex(where: { $0 > 1 }) {
            throw ClientError(.invalidInput, "bool tensor element \(bad) is \(data[bad]); bool elements must be 0 or 1")
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// A float32 tensor.
    /// - Throws: ``ClientError`` `invalidInput` when `values` does not fill `shape`.
    public init(shape: [Int], float32 values: [Float]) throws {
        try self.init(dtype: .float32, shape: shape, data: Self.littleEndianBytes(values.map(\.bitPattern)))
    }

    /// An int64 tensor.
    /// - Throws: ``ClientError`` `invalidInput` when `values` does not fill `shape`.
    public init(shape: [Int], int64 values: [Int64]) throws {
        try self.init(dtype: .int64, shape: shape, data: Self.littleEndianBytes(values))
    }

    /// An int32 tensor.
    /// - Throws: ``ClientError`` `invalidInput` when `values` does not fill `shape`.
    public init(shape: [Int], int32 values: [Int32]) throws {
        try self.init(dtype: .int32, shape: shape, data: Self.littleEndianBytes(values))
    }

    /// A bool tensor.
    /// - Throws: ``ClientError`` `invalidInput` when `values` does not fill `shape`.
    public init(shape: [Int], bool values: [Bool]) throws {
        try self.init(dtype: .bool, shape: shape, data: values.map { $0 ? 1 : 0 })
    }

    /// The number of elements.
    public var elementCount: Int { data.count / dtype.byteWidth }

    /// The elements as floats, or nil when the tensor is not float32.
    public var floats: [Float]? {
        dtype == .float32 ? Self.load(UInt32.self, data).map(Float.init(bitPattern:)) : nil
    }

    /// The elements as 64-bit integers, or nil when the tensor is not int64.
    public var int64s: [Int64]? { dtype == .int64 ? Self.load(Int64.self, data) : nil }

    /// The elements as 32-bit integers, or nil when the tensor is not int32.
    public var int32s: [Int32]? { dtype == .int32 ? Self.load(Int32.self, data) : nil }

    /// The elements as booleans, or nil when the tensor is not bool.
    public var bools: [Bool]? { dtype == .bool ? data.map { $0 != 0 } : nil }

    /// The product of `shape`, refusing negative dimensions and more than ``maxElements`` elements.
    /// - Throws: ``ClientError`` `invalidInput`.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        guard shape.count <= 16 else {
            throw ClientError(.invalidInput, "a tensor may have at most 16 dimensions; shape \(shape.prefix(20)) has \(shape.count)")
        }
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw ClientError(.invalidInput, "shape \(shape) has a negative dimension") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maxElements else {
                throw ClientError(.invalidInput, "shape \(shape) has more than \(maxElements) elements")
            }
            count = product
        }
        return count
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * MemoryLayout<T>.size)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8]) -> [T] {
        let size = MemoryLayout<T>.size
        return stride(from: 0, to: bytes.count - bytes.count % size, by: size).map { offset in
            var value: T = 0
            for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
            return value
        }
    }
}
