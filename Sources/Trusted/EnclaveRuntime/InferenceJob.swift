import EnclavaCrypto
import EnclavaWire
import EnclaveInference

/// One decrypted request on its way through the execution loop: parsed and validated before it is
/// queued, run (alone or in a batch) on a worker, and answered with an encrypted `InferResult`.
///
/// Model refusals (bad tensors, wrong inputs) travel inside the encrypted result as `ErrorInfo`, so even
/// the reason a request was refused stays between the client and the enclave.
struct InferenceJob: Sendable {
    /// What the payload turned out to be.
    enum Prepared: Sendable {
        /// Valid inputs; `batchKey` is nil when the request cannot share a batch.
        case inputs([String: HostTensor], rows: Int, batchKey: [String]?)
        /// Valid texts for a text pipeline, as ranges of the decrypted payload in secure memory (each request
        /// runs as one batch of its own texts).
        case texts(TextBatch)
        /// Refused before reaching the model.
        case refused(Enclava_V1_ErrorInfo)
    }

    /// The decrypted request (session, sequence, response keys).
    let request: SessionStateMachine.OpenedRequest
    /// The parsed payload.
    let prepared: Prepared
    /// Receives the encrypted answer (called exactly once, on a worker thread).
    let complete: @Sendable (Result<Enclava_V1_InferResponse, RPCError>) -> Void
    /// The runtime was started with `--allow-unlocked-memory` (reported in the encrypted result).
    var allowUnlockedMemory = false

    /// Parses and validates a decrypted payload.
    /// - Parameter textLimits: nil for a tensor pipeline (texts are refused); the caps on texts for a text
    ///   pipeline (tensors are refused).
    static func prepare(_ plaintext: SecureBytes, limits: TensorLimits, textLimits: TextLimits? = nil) -> Prepared {
        // Read in place first: texts must not reach SwiftProtobuf, which would copy them into `String`s.
        let read = plaintext.withUnsafeBytes { bytes in
            Result { () throws(PayloadFormatError) in try InferPayloadReader.read(bytes, keepTexts: (textLimits?.maxTexts ?? 0) + 1) }
        }
        let contents: InferPayloadReader.Contents
        switch read {
        case .success(let read): contents = read
        case .failure(let error): return .refused(errorInfo(RuntimeReason.malformedPayload, error.message, input: error.input))
        }
        if let textLimits { return prepareTexts(contents, plaintext: plaintext, limits: textLimits) }
        guard contents.textCount == 0 else {
            return .refused(errorInfo(RuntimeReason.textsNotSupported,
                                      "this enclave runs a tensor pipeline; send named tensors, not texts", input: "texts"))
        }
        var payload: Enclava_V1_InferPayload
        do {
            payload = try Enclava_V1_InferPayload(secureBytes: plaintext)
        } catch {
            return .refused(errorInfo(RuntimeReason.malformedPayload, "the decrypted request is not an enclava.v1.InferPayload"))
        }
        // SwiftProtobuf parses tensor bytes into ordinary `Data`; they are wiped once copied into secure memory.
        defer { PlaintextWipe.wipeTensors(of: &payload) }
        let inputs: [String: HostTensor]
        do {
            inputs = try TensorConversion.hostInputs(payload.inputs, limits: limits)
        } catch {
            return .refused(error.errorInfo)
        }
        // Batchable when every input has a leading dimension and they agree.
        let rows = inputs.values.first?.shape.first ?? 0
        let batchable = rows > 0
            && inputs.values.allSatisfy { $0.shape.first == rows }
        let key = batchable
            ? inputs.keys.sorted().map { name in "\(name):\(inputs[name]!.dtype):\(inputs[name]!.shape.dropFirst())" }
            : nil
        return .inputs(inputs, rows: rows, batchKey: key)
    }

    /// Whether `other` may join a batch that starts with `self`: same input names, types and trailing
    /// shapes, and the same session unless the model is proven row-independent (DESIGN.md §5). A session's
    /// own rows may always share a run; text requests never share one.
    /// - Parameter acrossSessions: ``InferenceEngine/rowIndependence`` proven for the served model.
    func canBatch(with other: InferenceJob, acrossSessions: Bool) -> Bool {
        guard case .inputs(_, _, let mine?) = prepared, case .inputs(_, _, let theirs?) = other.prepared else { return false }
        return mine == theirs && (acrossSessions || request.sessionID == other.request.sessionID)
    }

    /// Runs this request alone and answers it.
    /// - Parameter textEngine: the text pipeline, for ``Prepared/texts(_:)`` requests.
    func runAlone(engine: any InferenceEngine, textEngine: (any TextEngine)? = nil) {
        switch prepared {
        case .refused(let info):
            answer(with: Self.result(error: info))
        case .inputs(let inputs, _, _):
            do {
                answer(with: Self.result(outputs: try engine.run(inputs)))
            } catch {
                answer(with: Self.result(error: Self.modelErrorInfo(error)))
            }
        case .texts(let texts):
            guard let textEngine else {
                answer(with: Self.result(error: Self.errorInfo(RuntimeReason.textsNotSupported,
                                                               "this enclave runs a tensor pipeline; send named tensors, not texts",
                                                               input: "texts")))
                return
            }
            do {
                answer(with: Self.result(outputs: try textEngine.embed(texts: texts)))
            } catch {
                answer(with: Self.result(error: Self.modelErrorInfo(error)))
            }
        }
    }

    /// Encrypts `result` under the session's response key and completes the request.
    func answer(with result: Enclava_V1_InferResult) {
        var result = result
        result.memoryUnlocked = MemoryProtectionReport.current(allowUnlockedMemory: allowUnlockedMemory).isUnlocked
        do {
            let plaintext = try result.secureSerializedBytes()
            PlaintextWipe.wipeInlineTensors(of: &result)
            var response = Enclava_V1_InferResponse()
            response.sequence = request.sequence
            response.ciphertext = .init(try request.schedule.sealResponse(plaintext, sessionID: request.sessionID,
                                                                         sequence: request.sequence))
            complete(.success(response))
        } catch {
            complete(.failure(RPCError(.internal, reason: RuntimeReason.internalError,
                                       message: "the enclave could not encrypt the response; open a new session and retry")))
        }
    }

    static func result(outputs: [String: HostTensor]) -> Enclava_V1_InferResult {
        var result = Enclava_V1_InferResult()
        for (name, tensor) in outputs { result.outputs[name] = TensorConversion.wireTensor(tensor) }
        return result
    }

    static func result(error: Enclava_V1_ErrorInfo) -> Enclava_V1_InferResult {
        var result = Enclava_V1_InferResult()
        result.error = error
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
