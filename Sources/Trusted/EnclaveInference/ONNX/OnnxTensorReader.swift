internal import COnnx
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the element type, shape and data of a decoded `TensorProto`.
///
/// The C loader has already checked the dimensions against the limits and that the stored data matches
/// them; the checks are repeated here before each copy, so a copy can never run past either buffer.
enum OnnxTensorReader {
    /// The tensor's name, or a placeholder.
    static func name(_ tensor: UnsafePointer<Onnx__TensorProto>) -> String {
        let name = OnnxC.string(tensor.pointee.name)
        return name.isEmpty ? "(unnamed)" : name
    }

    /// Element type and shape.
    /// - Parameter dataInFile: the tensor's `raw_data` was taken out of the file before decoding
    ///   (``OnnxInitializerStripper``), so its external-data marker is the stripper's, not the exporter's.
    /// - Throws: ``InferenceError`` for element types Enclava does not support and for external data.
    static func describe(_ tensor: UnsafePointer<Onnx__TensorProto>, role: String,
                         dataInFile: Bool = false) throws -> (TensorDataType, [Int]) {
        let t = tensor.pointee
        let label = "\(role) '\(name(tensor))'"
        if !dataInFile, t.has_data_location != 0, t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
            throw InferenceError.malformed("\(label) keeps its data in an external file, which Enclava never reads; "
                                           + "save the model as one file (onnx.save_model(model, path, save_as_external_data=False))")
        }
        let code = t.has_data_type != 0 ? t.data_type : 0
        guard let dtype = TensorDataType(onnxCode: code) else {
            throw InferenceError(.unsupportedDataType, "\(label) has element type \(TensorDataType.onnxName(code)); "
                                 + "Enclava supports float32, int64, int32 and bool tensors — convert the model to float32")
        }
        let shape = OnnxC.values(t.dims, t.n_dims).map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw InferenceError.malformed("\(label) has a negative dimension") }
        return (dtype, shape)
    }

    /// Copies a tensor's `raw_data`, located in the model file by ``OnnxInitializerStripper``, into
    /// `destination` (exactly `weight.byteCount` bytes).
    static func copy(_ raw: UnsafeRawBufferPointer, of tensor: UnsafePointer<Onnx__TensorProto>, as weight: WeightRef,
                     into destination: UnsafeMutableRawBufferPointer) throws {
        precondition(destination.count == weight.byteCount)
        guard raw.count == weight.byteCount else {
            throw InferenceError.malformed("tensor '\(name(tensor))' holds \(raw.count) bytes of raw data but needs \(weight.byteCount)")
        }
        guard weight.byteCount > 0 else { return }
        destination.copyMemory(from: raw)   // raw_data is little-endian, as is every supported host
    }

    /// Copies the tensor's elements, little-endian, into `destination` (exactly `weight.byteCount` bytes).
    static func copy(_ tensor: UnsafePointer<Onnx__TensorProto>, as weight: WeightRef,
                     into destination: UnsafeMutableRawBufferPointer) throws {
        precondition(destination.count == weight.byteCount)
        let t = tensor.pointee
        let count = weight.dtype.byteCount == 0 ? 0 : weight.byteCount / weight.dtype.byteCount
        let label = "tensor '\(name(tensor))'"
        guard weight.byteCount > 0 else { return }
        let target = destination.baseAddress!
        if t.has_raw_data != 0, t.raw_data.len > 0 {
            guard t.raw_data.len == weight.byteCount, let source = t.raw_data.data else {
                throw InferenceError.malformed("\(label) holds \(t.raw_data.len) bytes but needs \(weight.byteCount)")
            }
            memcpy(target, source, weight.byteCount)   // raw_data is little-endian, as is every supported host
            return
        }
        func checkCount(_ stored: Int) throws {
            guard stored == count else { throw InferenceError.malformed("\(label) stores \(stored) values but needs \(count)") }
        }
        switch weight.dtype {
        case .float32:
            try checkCount(t.n_float_data)
            memcpy(target, t.float_data, weight.byteCount)
        case .int64:
            try checkCount(t.n_int64_data)
            memcpy(target, t.int64_data, weight.byteCount)
        case .int32:
            try checkCount(t.n_int32_data)
            memcpy(target, t.int32_data, weight.byteCount)
        case .bool:
            try checkCount(t.n_int32_data)
            let bytes = target.assumingMemoryBound(to: UInt8.self)
            for index in 0..<count { bytes[index] = t.int32_data[index] != 0 ? 1 : 0 }
        }
    }
}
