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

    /// The keys a tensor object may have.
    static let objectKeys: Set<String> = ["dtype", "shape", "data"]

    static func tensor(fromObject object: [String: Any]) throws -> Enclava_V1_Tensor {
        if let unknown = object.keys.sorted().first(where: { !objectKeys.contains($0) }) {
            throw ClientError(.invalidInput, "the tensor object has an unknown key `\(unknown)`; it takes only dtype, shape and data")
        }
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
        return try makeTensor(dtype: dtype, shape: shape, values: flat, positionShape: nestedShape, prefix: "data")
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

    /// Builds a tensor from flat JSON values, refusing any value the dtype cannot hold exactly as written:
    /// float32 data outside ±3.4028235e38 (it would become infinity), `true`/`false` where a number is meant,
    /// non-integers for integer types. A refusal names the value's position, e.g. `data[0][3]`.
    /// - Parameters:
    ///   - positionShape: the nesting of the JSON data (to name positions); `shape` when nil.
    ///   - prefix: what positions are named after (`data` for the object form).
    static func makeTensor(dtype: Enclava_V1_DataType, shape: [Int], values: [Any], positionShape: [Int]? = nil,
                           prefix: String = "") throws -> Enclava_V1_Tensor {
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
        let nesting = positionShape ?? shape
        func position(_ index: Int) -> String {
            var rest = index
            var parts: [String] = []
            for dim in nesting.reversed() where dim > 0 {
                parts.append("[\(rest % dim)]")
                rest /= dim
            }
            return prefix + parts.reversed().joined()
        }
        var bytes: [UInt8] = []
        for (index, value) in values.enumerated() {
            guard let number = value as? NSNumber else {
                throw ClientError(.invalidInput, "tensor data must be numbers, got \(value) at \(position(index))")
            }
            let isBool = isJSONBoolean(number)
            if isBool, dtype != .bool {
                throw ClientError(.invalidInput, "\(position(index)) is \(number.boolValue), not a number; "
                    + "\(name(of: dtype)) data must be numbers (use dtype bool for true/false)")
            }
            switch dtype {
            case .float32:
                let float = Float(number.doubleValue)
                guard float.isFinite, number.doubleValue.isFinite else {
                    throw ClientError(.invalidInput, "\(number) at \(position(index)) is outside the float32 range "
                        + "(±3.4028235e38); scale the input or use a model that takes another dtype")
                }
                withUnsafeBytes(of: float.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            case .int64:
                guard let integer = Int64(number.stringValue) ?? Int64(exactly: number.doubleValue) else {
                    throw ClientError(.invalidInput, "int64 data must be integers, got \(number) at \(position(index))")
                }
                withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
            case .int32:
                guard let integer = Int32(exactly: number.doubleValue) else {
                    throw ClientError(.invalidInput, "int32 data must be 32-bit integers, got \(number) at \(position(index))")
                }
                withUnsafeBytes(of: integer.littleEndian) { bytes.append(contentsOf: $0) }
            default:
                guard isBool || number.doubleValue == 0 || number.doubleValue == 1 else {
                    throw ClientError(.invalidInput, "bool data must be true, false, 0 or 1, got \(number) at \(position(index))")
                }
                bytes.append(number.doubleValue != 0 ? 1 : 0)
            }
        }
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = dtype
        tensor.shape = shape.map { Int64($0) }
        tensor.data = Data(bytes)
        return tensor
    }

    /// Whether JSON gave `true`/`false` (Foundation's boolean NSNumber) rather than a number.
    static func isJSONBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" && type(of: number) != NSNumber.self
    }
}
