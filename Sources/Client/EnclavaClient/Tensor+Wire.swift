import EnclavaWire
import Foundation

extension Tensor.DataType {
    /// The wire's data type for this one.
    var wire: Enclava_V1_DataType {
        switch self {
        case .float32: .float32
        case .int64: .int64
        case .int32: .int32
        case .bool: .bool
        }
    }

    /// The data type of a wire tensor, or nil for one this client does not know.
    init?(wire: Enclava_V1_DataType) {
        switch wire {
        case .float32: self = .float32
        case .int64: self = .int64
        case .int32: self = .int32
        case .bool: self = .bool
        default: return nil
        }
    }
}

extension Tensor {
    /// The wire form of this tensor (the request path the CLI's `enclava infer` uses).
    var wire: Enclava_V1_Tensor {
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = dtype.wire
        tensor.shape = shape.map { Int64($0) }
        tensor.data = Data(data)
        return tensor
    }

    /// A tensor from the enclave's answer, checked like any other: a known dtype, a shape within bounds and a
    /// data length that fits it.
    /// - Throws: ``ClientError`` `invalidEvidenceResponse` naming the output.
    init(wire: Enclava_V1_Tensor, name: String) throws {
        guard let dtype = DataType(wire: wire.dtype) else {
            throw ClientError(.invalidEvidenceResponse, "the enclave's output `\(name)` has a data type this client does not "
                              + "know (\(wire.dtype)); update the client")
        }
        guard wire.shape.allSatisfy({ $0 >= 0 && $0 <= Int64(Tensor.maxElements) }) else {
            throw ClientError(.invalidEvidenceResponse, "the enclave's output `\(name)` has an invalid shape \(wire.shape)")
        }
        do {
            try self.init(dtype: dtype, shape: wire.shape.map { Int($0) }, data: [UInt8](wire.data))
        } catch let error as ClientError {
            throw ClientError(.invalidEvidenceResponse, "the enclave's output `\(name)` is malformed: \(error.message)")
        }
    }
}
