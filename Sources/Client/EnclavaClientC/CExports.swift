import CEnclavaClient
import EnclavaClient
import Foundation

// The exported functions of enclava_client.h. Each is a thin shell: it reads the caller's arguments, calls the
// Swift client (which does all verification and encryption) and reports errors as an enclava_status.

/// The `enclava_error **error` parameter of every fallible function.
public typealias CErrorOut = UnsafeMutablePointer<UnsafeMutablePointer<enclava_error>?>?

/// `enclava_client_abi_version`.
@_cdecl("enclava_client_abi_version")
public func cEnclavaClientABIVersion() -> Int32 { 1 }

/// `enclava_session_open`.
@_cdecl("enclava_session_open")
public func cSessionOpen(_ endpoint: UnsafePointer<CChar>?, _ policyJSON: UnsafePointer<CChar>?,
                         _ policyPath: UnsafePointer<CChar>?, _ simHome: UnsafePointer<CChar>?,
                         _ model: UnsafePointer<CChar>?, _ timeoutSeconds: Double,
                         _ sessionOut: UnsafeMutablePointer<OpaquePointer?>?, _ error: CErrorOut) -> Int32 {
    reportingErrors(error) {
        guard let endpoint, let sessionOut else { throw CABIError(.invalidArgument, "endpoint and session_out must not be NULL") }
        let session = try CSession.open(endpoint: String(cString: endpoint), policyJSON: policyJSON.map { String(cString: $0) },
                                        policyPath: policyPath.map { String(cString: $0) },
                                        simHome: simHome.map { String(cString: $0) }, model: model.map { String(cString: $0) },
                                        timeoutSeconds: timeoutSeconds)
        sessionOut.pointee = OpaquePointer(Unmanaged.passRetained(session).toOpaque())
    }
}

/// `enclava_session_close`.
@_cdecl("enclava_session_close")
public func cSessionClose(_ handle: OpaquePointer?) {
    guard let handle else { return }
    let session = Unmanaged<CSession>.fromOpaque(UnsafeRawPointer(handle)).takeRetainedValue()
    _ = blockingRun { await session.session.close() }
}

/// `enclava_session_infer`.
@_cdecl("enclava_session_infer")
public func cSessionInfer(_ handle: OpaquePointer?, _ model: UnsafePointer<CChar>?, _ inputs: UnsafePointer<enclava_tensor>?,
                          _ inputCount: Int, _ outputsOut: UnsafeMutablePointer<UnsafeMutablePointer<enclava_tensor>?>?,
                          _ outputCountOut: UnsafeMutablePointer<Int>?, _ error: CErrorOut) -> Int32 {
    reportingErrors(error) {
        let (session, model) = try arguments(handle, model, outputsOut, outputCountOut)
        let outputs: [String: Tensor]
        if inputCount == 1, let only = inputs?.pointee, only.name == nil {
            // One unnamed input: sent under the model's only input name.
            let tensor = try CTensors.tensor(only, label: "the input")
            outputs = try blockingRun { try await session.runInference(model: model, input: tensor) }.get()
        } else {
            let tensors = try CTensors.inputs(inputs, count: inputCount)
            outputs = try blockingRun { try await session.runInference(model: model, inputs: tensors) }.get()
        }
        (outputsOut!.pointee, outputCountOut!.pointee) = CTensors.allocate(outputs)
    }
}

/// `enclava_session_infer_texts`.
@_cdecl("enclava_session_infer_texts")
public func cSessionInferTexts(_ handle: OpaquePointer?, _ model: UnsafePointer<CChar>?,
                               _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ textCount: Int,
                               _ outputsOut: UnsafeMutablePointer<UnsafeMutablePointer<enclava_tensor>?>?,
                               _ outputCountOut: UnsafeMutablePointer<Int>?, _ error: CErrorOut) -> Int32 {
    reportingErrors(error) {
        let (session, model) = try arguments(handle, model, outputsOut, outputCountOut)
        let strings = try CTensors.texts(texts, count: textCount)
        let outputs = try blockingRun { try await session.runInference(model: model, texts: strings) }.get()
        (outputsOut!.pointee, outputCountOut!.pointee) = CTensors.allocate(outputs)
    }
}

/// `enclava_session_attestation_json`.
@_cdecl("enclava_session_attestation_json")
public func cSessionAttestationJSON(_ handle: OpaquePointer?, _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                    _ error: CErrorOut) -> Int32 {
    reportingErrors(error) {
        guard let handle, let jsonOut else { throw CABIError(.invalidArgument, "session and json_out must not be NULL") }
        jsonOut.pointee = strdup(borrow(handle).attestationJSON())
    }
}

/// `enclava_tensors_free`.
@_cdecl("enclava_tensors_free")
public func cTensorsFree(_ tensors: UnsafeMutablePointer<enclava_tensor>?, _ count: Int) {
    CTensors.free(tensors, count: count)
}

/// `enclava_string_free`.
@_cdecl("enclava_string_free")
public func cStringFree(_ string: UnsafeMutablePointer<CChar>?) {
    free(string)
}

/// `enclava_error_free`.
@_cdecl("enclava_error_free")
public func cErrorFree(_ error: UnsafeMutablePointer<enclava_error>?) {
    guard let error else { return }
    free(error.pointee.reason)
    free(error.pointee.message)
    error.deinitialize(count: 1)
    error.deallocate()
}

/// The session behind a handle, without taking ownership.
private func borrow(_ handle: OpaquePointer) -> CSession {
    Unmanaged<CSession>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// The checked common arguments of the infer calls.
private func arguments(
    _ handle: OpaquePointer?, _ model: UnsafePointer<CChar>?,
    _ outputsOut: UnsafeMutablePointer<UnsafeMutablePointer<enclava_tensor>?>?, _ outputCountOut: UnsafeMutablePointer<Int>?
) throws -> (ConfidentialSession, String) {
    guard let handle else { throw CABIError(.invalidArgument, "session is NULL") }
    guard let model else { throw CABIError(.invalidArgument, "model is NULL; name the model (the image's [image] name)") }
    guard outputsOut != nil, outputCountOut != nil else {
        throw CABIError(.invalidArgument, "outputs_out and output_count_out must not be NULL")
    }
    return (borrow(handle).session, String(cString: model))
}
