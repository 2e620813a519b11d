internal import COnnx

extension HostTensor {
    /// Decodes a serialized ONNX `TensorProto` (such as the `input_0.pb` / `output_0.pb` files of ONNX's
    /// conformance cases) under the given limits.
    /// - Throws: ``InferenceError``: `malformedModel` for bytes that are not a valid tensor, `unsupportedDataType`
    ///   for element types other than float32, int64, int32 and bool, `resourceLimit` over the limits.
    public init(onnxTensorProto bytes: [UInt8], limits: ModelLimits = ModelLimits()) throws {
        var cLimits = enclava_onnx_limits(
            max_bytes: UInt64(clamping: limits.maxModelBytes), max_decoded_bytes: UInt64(clamping: limits.maxDecodedBytes), max_depth: 64,
            max_nodes: UInt64(clamping: limits.maxNodes), max_initializers: UInt64(clamping: limits.maxInitializers),
            max_dims: UInt64(clamping: limits.maxRank), max_elements: UInt64(clamping: limits.maxTensorElements))
        var error = enclava_onnx_error()
        let decoded = bytes.withUnsafeBufferPointer { buffer in
            enclava_onnx_tensor_unpack(buffer.baseAddress, buffer.count, &cLimits, nil, &error)
        }
        guard let tensor = decoded else { throw OnnxC.error(&error, context: "the tensor") }
        defer { enclava_onnx_tensor_free(tensor, nil) }
        let (dtype, shape) = try OnnxTensorReader.describe(tensor, role: "tensor")
        guard let count = Shape.elementCount(shape) else { throw InferenceError.limit("the tensor is too large") }
        let weight = WeightRef(offset: 0, byteCount: count * dtype.byteCount, dtype: dtype, shape: shape)
        var data = TensorBytes(count: weight.byteCount)
        try data.withUnsafeMutableBytes { try OnnxTensorReader.copy(tensor, as: weight, into: $0) }
        self.init(dtype: dtype, shape: shape, data: data)
    }
}
