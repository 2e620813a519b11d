import EnclavaAttestation
import EnclavaWire
import Foundation

extension TensorJSON {
    /// The numbers of a tensor as JSON literals (floats in their shortest exact form; NaN and infinities as the
    /// strings `"NaN"`, `"Infinity"` and `"-Infinity"`, so they are told apart from each other and from numbers —
    /// see ``nonFiniteCount(of:)``), or nil when the data length does not match the dtype.
    public static func values(of tensor: Enclava_V1_Tensor) -> [String]? {
        let bytes = [UInt8](tensor.data)
        func load<T: FixedWidthInteger>(_: T.Type) -> [T]? {
            let size = MemoryLayout<T>.size
            guard bytes.count % size == 0 else { return nil }
            return stride(from: 0, to: bytes.count, by: size).map { offset in
                var value: T = 0
                for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
                return value
            }
        }
        switch tensor.dtype {
        case .float32:
            return load(UInt32.self)?.map { bits in
                let value = Float(bitPattern: bits)
                if value.isNaN { return "\"NaN\"" }
                if value.isInfinite { return value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
                return "\(value)"
            }
        case .int64: return load(Int64.self)?.map { "\($0)" }
        case .int32: return load(Int32.self)?.map { "\($0)" }
        case .bool: return bytes.map { $0 != 0 ? "true" : "false" }
        default: return nil
        }
    }

    /// How many NaN or infinite values a float32 tensor holds (0 for other dtypes): a model output with any is
    /// printed with a warning.
    public static func nonFiniteCount(of tensor: Enclava_V1_Tensor) -> Int {
        floats(of: tensor)?.filter { !$0.isFinite }.count ?? 0
    }

    /// Float32 values of a tensor (nil for another dtype or a malformed one).
    public static func floats(of tensor: Enclava_V1_Tensor) -> [Float]? {
        guard tensor.dtype == .float32, tensor.data.count % 4 == 0 else { return nil }
        let bytes = [UInt8](tensor.data)
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
                  | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
    }

    /// A float32 tensor.
    public static func float32(shape: [Int], _ values: [Float]) -> Enclava_V1_Tensor {
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = .float32
        tensor.shape = shape.map { Int64($0) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        tensor.data = Data(bytes)
        return tensor
    }

    /// One tensor as `{"dtype": …, "shape": […], "data": […]}` (flat data).
    public static func encode(_ tensor: Enclava_V1_Tensor) -> String {
        let data = values(of: tensor).map { "[" + $0.joined(separator: ", ") + "]" } ?? "null"
        let shape = "[" + tensor.shape.map { "\($0)" }.joined(separator: ", ") + "]"
        return "{\"dtype\": \"\(name(of: tensor.dtype))\", \"shape\": \(shape), \"data\": \(data)}"
    }

    /// Named tensors as a JSON object, keys sorted.
    public static func encode(_ tensors: [String: Enclava_V1_Tensor]) -> String {
        "{" + tensors.keys.sorted().map { "\(quote($0)): \(encode(tensors[$0]!))" }.joined(separator: ", ") + "}"
    }

    /// The `enclava infer --json` document: `{"outputs": {NAME: tensor}, "enclave": {"platform",
    /// "simulated", "measurement", "manifest_digest"}}`.
    public static func inferenceReport(outputs: [String: Enclava_V1_Tensor], evidence: VerifiedEvidence,
                                       memoryUnlocked: Bool = false) -> String {
        let enclave = "{\"platform\": \(quote(evidence.platform.rawValue)), \"simulated\": \(evidence.isSimulated), "
            + "\"measurement\": \(quote(evidence.measurementHex)), \"manifest_digest\": \(quote(evidence.manifestDigestHex)), "
            + "\"memory_unlocked\": \(memoryUnlocked)}"
        return "{\"outputs\": \(encode(outputs)), \"enclave\": \(enclave)}"
    }

    /// A JSON string literal.
    public static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
