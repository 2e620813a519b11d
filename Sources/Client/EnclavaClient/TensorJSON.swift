import EnclavaAttestation
import EnclavaWire
import Foundation

/// Tensors as JSON, for the CLI: `{"dtype": "float32", "shape": [1, 3], "data": [0.1, 0.2, 0.3]}`.
///
/// Input (`--input NAME=JSON`) is either that object (`data` may be flat or nested) or a nested array of
/// numbers, which is read as float32 with the shape of its nesting (`[[1, 2, 3]]` is shape `[1, 3]`).
public enum TensorJSON {
    /// The most elements a JSON tensor may have.
    public static let maxElements = 16 << 20

    /// Parses a `NAME=JSON` command-line argument.
    /// - Throws: ``ClientError`` `invalidInput` naming the argument.
    public static func parseInput(_ argument: String) throws -> (name: String, tensor: Enclava_V1_Tensor) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
            throw ClientError(.invalidInput, "--input `\(argument.prefix(40))` must be NAME=JSON, e.g. x='[[0.1, 0.2]]'")
        }
        let name = String(argument[..<equals])
        do {
            return (name, try tensor(fromJSON: String(argument[argument.index(after: equals)...])))
        } catch let error as ClientError {
            throw ClientError(.invalidInput, "--input \(name): \(error.message)")
        }
    }

    /// Parses one tensor from JSON text (an object or a nested array).
    /// - Throws: ``ClientError`` `invalidInput`.
    public static func tensor(fromJSON text: String) throws -> Enclava_V1_Tensor {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ClientError(.invalidInput, "not valid JSON; give a nested array of numbers or {\"dtype\",\"shape\",\"data\"}")
        }
        if let object = value as? [String: Any] { return try tensor(fromObject: object) }
        if value is [Any] {
            var shape: [Int] = []
            var flat: [Any] = []
            try flatten(value, depth: 0, shape: &shape, into: &flat)
            return try makeTensor(dtype: .float32, shape: shape, values: flat)
        }
        throw ClientError(.invalidInput, "expected a nested array of numbers or {\"dtype\",\"shape\",\"data\"}")
    }

    /// The data type named in JSON (`float32`, `int64`, `int32`, `bool`).
    public static func dataType(named name: String) -> Enclava_V1_DataType? {
        switch name {
        case "float32", "float": .float32
        case "int64": .int64
        case "int32": .int32
        case "bool": .bool
        default: nil
        }
    }

    /// The JSON name of a data type.
    public static func name(of dtype: Enclava_V1_DataType) -> String {
        switch dtype {
        case .float32: "float32"
        case .int64: "int64"
        case .int32: "int32"
        case .bool: "bool"
        default: "unspecified"
        }
    }

    static func tensor(fromObject object: [String: Any]) throws -> Enclava_V1_Tensor {
        let dtypeName = object["dtype"] as? String ?? "float32"
        guard let dtype = dataType(named: dtypeName) else {
            throw ClientError(.invalidInput, "dtype `\(dtypeName)` is not supported; use float32, int64, int32 or bool")
        }
        guard let data = object["data"] else { throw ClientError(.invalidInput, "the tensor object has no `data`") }
        var nestedShape: [Int] = []
        var flat: [Any] = []
        try flatten(data, depth: 0, shape: &nestedShape, into: &flat)
        var shape = nestedShape
        if let given = object["shape"] {
            guard let dims = given as? [Any] else { throw ClientError(.invalidInput, "`shape` must be an array of integers") }
            shape = try dims.map { dim in
                guard let number = dim as? NSNumber, let value = Int(exactly: number.doubleValue), value >= 0 else {
                    throw ClientError(.invalidInput, "`shape` must hold non-negative integers, got \(dim)")
                }
                return value
            }
        }
        return try makeTensor(dtype: dtype, shape: shape, values: flat)
    }

    static func flatten(_ value: Any, depth: Int, shape: inout [Int], into flat: inout [Any]) throws {
        var leafSeen = false
        try flatten(value, depth: depth, shape: &shape, leafSeen: &leafSeen, into: &flat)
    }

    /// Walks nested arrays: the first path down to a leaf fixes the shape; every other array must match it.
    private static func flatten(_ value: Any, depth: Int, shape: inout [Int], leafSeen: inout Bool,
                                into flat: inout [Any]) throws {
        guard depth <= 16 else { throw ClientError(.invalidInput, "the array is nested more than 16 deep") }
        guard let array = value as? [Any] else {
            if !leafSeen { leafSeen = true }
            guard depth == shape.count else { throw ClientError(.invalidInput, "the nested arrays are not rectangular") }
            guard flat.count < maxElements else {
                throw ClientError(.invalidInput, "the tensor has more than \(maxElements) elements")
            }
            flat.append(value)
            return
        }
        if depth == shape.count, !leafSeen {
            shape.append(array.count)
        } else if depth >= shape.count || shape[depth] != array.count {
            throw ClientError(.invalidInput, "the nested arrays are not rectangular")
        }
        for element in array {
            try flatten(element, depth: depth + 1, shape: &shape, leafSeen: &leafSeen, into: &flat)
        }
    }

    static func makeTensor(dtype: Enclava_V1_DataType, shape: [Int], values: [Any]) throws -> Enclava_V1_Tensor {
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maxElements else {
                throw ClientError(.invalidInput, "shape \(shape) has more than \(maxElements) elements")
            }
            count = product
        }
        guard count == values.count else {
            throw ClientError(.invalidInput, "shape \(shape) needs \(count) values but `data` has \(values.count)")
        }
        var bytes: [UInt8] = []
        for value in values {
            guard let number = value as? NSNumber else {
                throw ClientError(.invalidInput, "tensor data must be numbers, got \(value)")
            }
            switch dtype {
            case .float32:
                withUnsafeBytes(of: Float(number.doubleValue).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            case .int64:
                guard let integer = Int64(number.stringValue) ?? Int64(exactly: number.doubleValue) else {
                    throw ClientError(.invalidInput, "int64 data must be integers, got \(number)")
                }
                withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
            case .int32:
                guard let integer = Int32(exactly: number.doubleValue) else {
                    throw ClientError(.invalidInput, "int32 data must be 32-bit integers, got \(number)")
                }
                withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
            default:
                bytes.append(number.doubleValue != 0 ? 1 : 0)
            }
        }
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = dtype
        tensor.shape = shape.map { Int64($0) }
        tensor.data = Data(bytes)
        return tensor
    }
}
