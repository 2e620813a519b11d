import EnclavaWire

/// The stable `ErrorInfo.reason` strings the enclave answers with. Clients match on these, so they never
/// change meaning; a new failure gets a new reason.
public enum RuntimeReason {
    /// GetEvidence: the nonce is not exactly 32 bytes.
    public static let invalidNonce = "INVALID_NONCE"
    /// OpenSession: `enc` is not a 32-byte X25519 public key, or HPKE set-up failed.
    public static let invalidEncapsulatedKey = "INVALID_ENCAPSULATED_KEY"
    /// OpenSession, ProvisionKey: the evidence digest is not one this enclave issued on this connection (or
    /// it was used to open a session already).
    public static let unknownEvidence = "UNKNOWN_EVIDENCE"
    /// Infer: the session id is unknown on this connection (never opened, opened on another connection, or
    /// ended with its connection).
    public static let sessionNotFound = "SESSION_NOT_FOUND"
    /// Infer: the session failed to decrypt a request earlier and is closed for good.
    public static let sessionPoisoned = "SESSION_POISONED"
    /// Infer: the sequence number is not the next one expected (replay, reorder or drop).
    public static let sequenceOutOfOrder = "SEQUENCE_OUT_OF_ORDER"
    /// Infer: the request ciphertext did not authenticate; the session is now poisoned.
    public static let requestDecryptionFailed = "REQUEST_DECRYPTION_FAILED"
    /// OpenSession: the connection holds its quota of open sessions.
    public static let sessionQuotaExceeded = "SESSION_QUOTA_EXCEEDED"
    /// OpenSession: the enclave holds its global cap of open sessions.
    public static let sessionTableFull = "SESSION_TABLE_FULL"
    /// GetEvidence: the connection holds its quota of issued, unused evidence.
    public static let evidenceQuotaExceeded = "EVIDENCE_QUOTA_EXCEEDED"
    /// GetEvidence: the enclave holds its global cap of issued, unused evidence.
    public static let evidenceTableFull = "EVIDENCE_TABLE_FULL"
    /// A host-control method (Shutdown) called on the client socket: it is served only on the private
    /// control socket.
    public static let hostOnlyMethod = "HOST_ONLY_METHOD"
    /// A client method called on the control socket, which serves only Health, Shutdown and the sealed-state exchange.
    public static let notAControlMethod = "NOT_A_CONTROL_METHOD"
    /// Infer: the work queue is full; retry later.
    public static let queueFull = "QUEUE_FULL"
    /// Infer: the enclave cannot lock more memory for this request's plaintext now (`RLIMIT_MEMLOCK`);
    /// the request was not decrypted, retry later with the same sequence number.
    public static let secureMemoryExhausted = "SECURE_MEMORY_EXHAUSTED"
    /// Any call before the model is loaded, or after startup failed.
    public static let notReady = "ENCLAVE_NOT_READY"
    /// Any call after Shutdown.
    public static let shuttingDown = "SHUTTING_DOWN"
    /// A request message that does not parse.
    public static let malformedRequest = "MALFORMED_REQUEST"
    /// A method or service this enclave does not serve.
    public static let unknownMethod = "UNKNOWN_METHOD"
    /// OpenSession, Infer: the enclave waits for its model key (`enclava provision`); retry when Health says ready.
    public static let waitingForKey = "WAITING_FOR_KEY"
    /// ProvisionKey: the enclave is not waiting for a key (it is ready, loading a key already, or its image
    /// key is sealed); nothing was changed.
    public static let notWaitingForKey = "NOT_WAITING_FOR_KEY"
    /// ProvisionKey: the sealed key does not open with this enclave's key for the evidence and image it names
    /// (sealed to other evidence, another enclave, another image, or altered); nothing was changed.
    public static let keyUnsealingFailed = "KEY_UNSEALING_FAILED"
    /// ProvisionKey: the key opened but is not this image's key (the signed header's key commitment differs);
    /// nothing was decrypted, the evidence is used up and the enclave still waits for its key.
    public static let keyMismatch = "KEY_MISMATCH"
    /// ProvisionKey: the key matched, but the model could not be decrypted or loaded; the enclave failed.
    public static let modelLoadFailed = "MODEL_LOAD_FAILED"
    /// An internal failure (encryption of a response, …); the message says what.
    public static let internalError = "INTERNAL"

    // Reasons inside an encrypted InferResult.error (the model refused the request).

    /// The decrypted payload is not an `InferPayload`.
    public static let malformedPayload = "MALFORMED_PAYLOAD"
    /// A tensor is malformed (dtype, shape, data length, caps); the message names the input.
    public static let invalidTensor = "INVALID_TENSOR"
    /// The model rejected the inputs (missing input, wrong shape…); the message names the input.
    public static let invalidArgument = "INVALID_ARGUMENT"
    /// The request carries texts, but the image's pipeline takes tensors.
    public static let textsNotSupported = "TEXTS_NOT_SUPPORTED"
    /// The request carries tensors, but the image's pipeline takes texts (`sentence-embedding`).
    public static let tensorsNotSupported = "TENSORS_NOT_SUPPORTED"
    /// The model failed while running.
    public static let modelFailed = "MODEL_FAILED"
}
