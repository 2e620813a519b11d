/// Element types a tensor can have at the model's edge.
///
/// Compute is float32; the integer and boolean types exist for shapes, indices and masks.
public enum TensorDataType: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case float32
    case int64
    case int32
    case bool

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32, .int32: return 4
        case .int64: return 8
        case .bool: return 1
        }
    }

    /// The `TensorProto.DataType` number ONNX uses for this type.
    public var onnxCode: Int32 {
        switch self {
        case .float32: return 1
        case .int64: return 7
        case .int32: return 6
        case .bool: return 9
        }
    }

    /// The type for an ONNX `TensorProto.DataType` number, or nil when Enclava does not support it.
    public init?(onnxCode: Int32) {
        switch onnxCode {
        case 1: self = .float32
        case 7: self = .int64
        case 6: self = .int32
        case 9: self = .bool
        default: return nil
        }
    }

    /// A readable name for any ONNX `TensorProto.DataType` number (for error messages).
    static func onnxName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
            8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
            15: "complex128", 16: "bfloat16",
        ]
        return names[code] ?? "type \(code)"
    }

    public var description: String { rawValue }
}
