import EnclavaWire
import EnclaveInference
import Foundation

/// Conversion between wire tensors (`Enclava_V1_Tensor`) and the model's ``HostTensor``, with validation.
public enum TensorConversion {
    /// Bytes per element of a wire data type, or nil for an unsupported one.
    public static func elementByteCount(_ dtype: Enclava_V1_DataType) -> Int? {
        switch dtype {
        case .float32, .int32: 4
        case .int64: 8
        case .bool: 1
        default: nil
        }
    }

    /// The model data type of a wire data type.
    static func hostType(_ dtype: Enclava_V1_DataType) -> TensorDataType? {
        switch dtype {
        case .float32: .float32
        case .int64: .int64
        case .int32: .int32
        case .bool: .bool
        default: nil
        }
    }

    /// The wire data type of a model data type.
    public static func wireType(_ dtype: TensorDataType) -> Enclava_V1_DataType {
        switch dtype {
        case .float32: .float32
        case .int64: .int64
        case .int32: .int32
        case .bool: .bool
        }
    }

    /// Validates every input of a payload and converts it.
    /// - Throws: ``TensorRejection`` naming the first bad input (inputs are checked in name order).
    public static func hostInputs(_ inputs: [String: Enclava_V1_Tensor],
                                  limits: TensorLimits = TensorLimits()) throws(TensorRejection) -> [String: HostTensor] {
        guard !inputs.isEmpty else {
            throw TensorRejection(input: "", "the request has no inputs; send at least one named tensor")
        }
        guard inputs.count <= limits.maxInputs else {
            throw TensorRejection(input: "", "the request has \(inputs.count) inputs; at most \(limits.maxInputs) are accepted")
        }
        var result: [String: HostTensor] = [:]
        for name in inputs.keys.sorted() {
            result[name] = try hostTensor(name: name, inputs[name]!, limits: limits)
        }
        return result
    }

    /// Validates one wire tensor (dtype, shape, data length == product(shape) · dtype size, caps) and
    /// converts it.
    /// - Throws: ``TensorRejection`` naming the input.
    public static func hostTensor(name: String, _ tensor: Enclava_V1_Tensor,
                                  limits: TensorLimits = TensorLimits()) throws(TensorRejection) -> HostTensor {
        guard !name.isEmpty, name.utf8.count <= limits.maxNameBytes else {
            throw TensorRejection(input: String(name.prefix(64)),
                                  "input names must be 1…\(limits.maxNameBytes) bytes")
        }
        guard let elementSize = elementByteCount(tensor.dtype), let dtype = hostType(tensor.dtype) else {
            throw TensorRejection(input: name, "input `\(name)`: dtype \(tensor.dtype) is not supported; "
                                  + "use float32, int64, int32 or bool")
        }
        guard tensor.shape.count <= limits.maxRank else {
            throw TensorRejection(input: name, "input `\(name)`: rank \(tensor.shape.count) exceeds \(limits.maxRank)")
        }
        var elements = 1
        var shape: [Int] = []
        shape.reserveCapacity(tensor.shape.count)
        for dimension in tensor.shape {
            guard dimension >= 0, dimension <= Int64(limits.maxElements) else {
                throw TensorRejection(input: name, "input `\(name)`: dimension \(dimension) is out of range "
                                      + "(0…\(limits.maxElements))")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow, product <= limits.maxElements else {
                throw TensorRejection(input: name, "input `\(name)`: shape \(tensor.shape) has more than "
                                      + "\(limits.maxElements) elements")
            }
            elements = product
            shape.append(Int(dimension))
        }
        let expectedBytes = elements * elementSize
        guard tensor.data.count == expectedBytes else {
            throw TensorRejection(input: name, "input `\(name)`: data is \(tensor.data.count) bytes but shape "
                                  + "\(shape) of \(dtype) needs \(expectedBytes)")
        }
        // Straight into secure memory; the caller wipes the parsed `Data` (``PlaintextWipe``).
        return HostTensor(dtype: dtype, shape: shape, data: tensor.data.withUnsafeBytes { TensorBytes(copying: $0) })
    }

    /// Converts a model output to a wire tensor whose bytes are the output's secure memory (no copy).
    public static func wireTensor(_ tensor: HostTensor) -> Enclava_V1_Tensor {
        var wire = Enclava_V1_Tensor()
        wire.dtype = wireType(tensor.dtype)
        wire.shape = tensor.shape.map { Int64($0) }
        wire.data = Data(sharing: tensor.data)
        return wire
    }
}
