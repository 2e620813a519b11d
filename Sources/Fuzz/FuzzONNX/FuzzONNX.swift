import EnclaveInference
import EnclaveSealing
import FuzzSupport

/// Small limits, so that whatever a file declares, memory and time per input stay bounded.
private let limits = ModelLimits(maxModelBytes: 4 << 20, maxNodes: 2_000, maxInitializers: 2_000, maxRank: 8,
                                 maxTensorElements: 1 << 20, maxWorkspaceBytes: 64 << 20, maxWeightBytes: 16 << 20)

/// libFuzzer entry for the ONNX loader: the file as ``ModelSupport`` checks it for `enclava package`
/// (summary, supported operators, decoding, planning) and as ``InferenceModel`` loads it inside the
/// enclave — from bytes, and from a ``SealedRegion`` as the runtime loads a decrypted model: protobuf-c
/// decoding with the initializer stripper (weights cut out of the file before decoding, then read or moved in
/// place), weight store, graph planning and operator construction — then one small request of zeros through
/// the loaded model. Sealed memory is allowed unlocked (no `RLIMIT_MEMLOCK` needed).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    _ = try? ModelSupport.check(onnx: bytes, limits: limits, memoryLockPolicy: .allowUnlocked)
    if let model = try? InferenceModel(onnx: bytes, limits: limits, memoryLockPolicy: .allowUnlocked) {
        _ = (model.inputs, model.outputs, model.rowIndependence)
        if let inputs = zeroInputs(model.inputs) { _ = try? model.run(inputs) }
    }
    // The runtime's path: the decrypted file in sealed memory, taken over by the model (weights moved in place).
    if size > 0, let region = try? SealedRegion(count: size, lockPolicy: .allowUnlocked) {
        region.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        _ = try? InferenceModel(onnx: region, limits: limits, memoryLockPolicy: .allowUnlocked)
    }
    return 0
}

/// A request of zeros for the model's declared inputs (unknown dimensions taken as 1), when the model declares
/// its ranks and the request stays small; what the runtime does next with a model it loaded.
private func zeroInputs(_ specs: [TensorSpec]) -> [String: HostTensor]? {
    var inputs: [String: HostTensor] = [:]
    var total = 0
    for spec in specs {
        guard spec.isRankKnown else { return nil }
        let shape = spec.shape.map { $0 ?? 1 }
        guard shape.allSatisfy({ $0 >= 0 }) else { return nil }
        let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        total += min(elements, 1 << 20)
        guard total <= 4096 else { return nil }
        inputs[spec.name] = HostTensor(dtype: spec.dtype, shape: shape, data: [UInt8](repeating: 0, count: elements * spec.dtype.byteCount))
    }
    return inputs
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzONNX_main")
public func fuzzONNXMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzONNX)
}
