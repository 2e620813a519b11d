import EnclavaCrypto
import EnclavaWire
import Foundation

extension ConfidentialSession {
    /// Runs the model on named input tensors inside the enclave.
    ///
    /// Calls are serialized, so requests reach the enclave in sequence order.
    /// - Parameters:
    ///   - inputs: the model's named inputs.
    ///   - texts: texts for text pipelines (sentence embedding).
    /// - Returns: the model's named outputs.
    /// - Throws: ``ClientError``: `modelRejected` when the model refused the inputs, `remote` for an
    ///   enclave error (e.g. `QUEUE_FULL`), `responseDecryptionFailed` / `responseSequenceMismatch` when
    ///   the answer was tampered with, `sessionUnusable` after an earlier decryption failure.
    public func infer(_ inputs: [String: Enclava_V1_Tensor], texts: [String] = []) async throws -> [String: Enclava_V1_Tensor] {
        await acquire()
        defer { release() }
        var payload = Enclava_V1_InferPayload()
        payload.inputs = inputs
        payload.texts = texts
        let request = try makeRequest(payload: payload)
        let response = try await send(request)
        let result = try openResponse(response, for: request.sequence)
        if result.hasError {
            throw ClientError.modelRejected(reason: result.error.reason, message: result.error.message)
        }
        return result.outputs
    }

    /// Encrypts a payload as the next request of this session (advancing the sequence number).
    /// - Throws: ``ClientError`` `sessionUnusable` after a decryption failure.
    public func makeRequest(payload: Enclava_V1_InferPayload) throws -> Enclava_V1_InferRequest {
        if let unusableReason {
            throw ClientError(.sessionUnusable, "this session cannot be used again (\(unusableReason)); "
                              + "connect a new ConfidentialSession")
        }
        let sequence = nextSequence
        let ciphertext: [UInt8]
        do {
            let plaintext = try payload.secureSerializedBytes()
            ciphertext = try sender.seal(plaintext, aad: SessionKeySchedule.requestAAD(sessionID: sessionID,
                                                                                     sequence: sequence))
        } catch {
            throw ClientError(.invalidInput, "the request could not be encrypted: \(error)")
        }
        nextSequence += 1
        var request = Enclava_V1_InferRequest()
        request.sessionID = Data(sessionID)
        request.sequence = sequence
        request.ciphertext = Data(ciphertext)
        return request
    }

    /// Sends an already made request as it is (tests alter it first). This does not check whether the
    /// session is still usable, so a test can observe the enclave's own answer.
    /// - Throws: ``ClientError`` `remote`; an enclave answer that means the session is gone
    ///   (`REQUEST_DECRYPTION_FAILED`, `SESSION_POISONED`, `SESSION_NOT_FOUND`) also closes this side.
    public func send(_ request: Enclava_V1_InferRequest) async throws -> Enclava_V1_InferResponse {
        do {
            return try await transport.call(.infer, request, as: Enclava_V1_InferResponse.self, timeout: timeout)
        } catch let error as RPCError {
            if Self.fatalRemoteReasons.contains(error.reason) {
                markUnusable("the enclave answered \(error.reason)")
            }
            throw ClientError.remote(error)
        }
    }

    /// Checks and decrypts the response to request `sequence`.
    /// - Throws: ``ClientError`` `responseSequenceMismatch` or `responseDecryptionFailed` (either closes
    ///   the session), or `invalidEvidenceResponse` when the plaintext is not an `InferResult`.
    public func openResponse(_ response: Enclava_V1_InferResponse, for sequence: UInt64) throws -> Enclava_V1_InferResult {
        guard response.sequence == sequence else {
            markUnusable("a response carried sequence \(response.sequence) instead of \(sequence)")
            throw ClientError(.responseSequenceMismatch,
                              "the response carries sequence \(response.sequence) but answers request \(sequence); "
                                  + "the connection is not trustworthy, connect a new session")
        }
        let plaintext: SecureBytes
        do {
            plaintext = try schedule.openResponse([UInt8](response.ciphertext), sessionID: sessionID, sequence: sequence)
        } catch {
            markUnusable("a response failed to decrypt")
            throw ClientError(.responseDecryptionFailed,
                              "the response to request \(sequence) did not decrypt (tampered in transit or not from "
                                  + "this enclave); the session is closed, connect a new one")
        }
        let result: Enclava_V1_InferResult
        do {
            result = try Enclava_V1_InferResult(secureBytes: plaintext)
        } catch {
            markUnusable("a response did not parse")
            throw ClientError(.invalidEvidenceResponse, "the decrypted response is not an enclava.v1.InferResult")
        }
        if result.memoryUnlocked { memoryUnlockedReported = true }
        return result
    }

    /// True once any result of this session said that the enclave may hold secrets in memory that is not
    /// locked in RAM (it was started with `--allow-unlocked-memory`, or a lock failed). The flag travels
    /// inside the session's encryption, so the host cannot hide it. Show it to the user: such an enclave is
    /// for development only.
    public var enclaveReportsUnlockedMemory: Bool { memoryUnlockedReported }

    static var fatalRemoteReasons: Set<String> {
        ["REQUEST_DECRYPTION_FAILED", "SESSION_POISONED", "SESSION_NOT_FOUND"]
    }

    func markUnusable(_ reason: String) {
        if unusableReason == nil { unusableReason = reason }
    }

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
