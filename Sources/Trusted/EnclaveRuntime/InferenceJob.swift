import EnclavaCrypto
import EnclavaWire
import EnclaveInference

/// The work done on a worker thread for one decrypted request: parse the payload, validate its tensors,
/// run the model, and encrypt the `InferResult` under the session's response key.
///
/// Model refusals (bad tensors, wrong inputs) travel inside the encrypted result as `ErrorInfo`, so even
/// the reason a request was refused stays between the client and the enclave.
enum InferenceJob {
    /// Processes one request.
    /// - Throws: ``RPCError`` `INTERNAL` only when the response cannot be encrypted.
    static func run(_ request: SessionStateMachine.OpenedRequest, engine: any InferenceEngine,
                    limits: TensorLimits) throws(RPCError) -> Enclava_V1_InferResponse {
        let result = makeResult(request.plaintext, engine: engine, limits: limits)
        do {
            let plaintext = try result.secureSerializedBytes()
            var response = Enclava_V1_InferResponse()
            response.sequence = request.sequence
            response.ciphertext = .init(try request.schedule.sealResponse(plaintext, sessionID: request.sessionID,
                                                                         sequence: request.sequence))
            return response
        } catch {
            throw RPCError(.internal, reason: RuntimeReason.internalError,
                           message: "the enclave could not encrypt the response; open a new session and retry")
        }
    }

    /// The plaintext result for a decrypted payload.
    static func makeResult(_ plaintext: SecureBytes, engine: any InferenceEngine,
                           limits: TensorLimits) -> Enclava_V1_InferResult {
        var result = Enclava_V1_InferResult()
        let payload: Enclava_V1_InferPayload
        do {
            payload = try Enclava_V1_InferPayload(secureBytes: plaintext)
        } catch {
            result.error = errorInfo(RuntimeReason.malformedPayload,
                                     "the decrypted request is not an enclava.v1.InferPayload")
            return result
        }
        let inputs: [String: HostTensor]
        do {
            inputs = try TensorConversion.hostInputs(payload.inputs, limits: limits)
        } catch {
            result.error = error.errorInfo
            return result
        }
        do {
            let outputs = try engine.run(inputs)
            for (name, tensor) in outputs { result.outputs[name] = TensorConversion.wireTensor(tensor) }
        } catch {
            result.error = modelErrorInfo(error)
        }
        return result
    }

    static func errorInfo(_ reason: String, _ message: String, input: String? = nil) -> Enclava_V1_ErrorInfo {
        var info = Enclava_V1_ErrorInfo()
        info.reason = reason
        info.message = message
        if let input { info.metadata = ["input": input] }
        return info
    }

    /// An engine error as `ErrorInfo`: invalid arguments keep the model's sentence (which names the input).
    static func modelErrorInfo(_ error: any Error) -> Enclava_V1_ErrorInfo {
        if let inference = error as? InferenceError {
            let reason = inference.code == .invalidArgument ? RuntimeReason.invalidArgument : inference.code.rawValue
            return errorInfo(reason, inference.message, input: inference.inputName)
        }
        return errorInfo(RuntimeReason.modelFailed, "the model failed: \(error)")
    }
}
