import EnclavaWire

/// The stable `ErrorInfo.reason` strings the enclave answers with. Clients match on these, so they never
/// change meaning; a new failure gets a new reason.
public enum RuntimeReason {
    /// GetEvidence: the nonce is not exactly 32 bytes.
    public static let invalidNonce = "INVALID_NONCE"
    /// OpenSession: `enc` is not a 32-byte X25519 public key, or HPKE set-up failed.
    public static let invalidEncapsulatedKey = "INVALID_ENCAPSULATED_KEY"
    /// OpenSession: the evidence digest is not one this enclave issued recently.
    public static let unknownEvidence = "UNKNOWN_EVIDENCE"
    /// Infer: the session id is unknown (never opened, or evicted).
    public static let sessionNotFound = "SESSION_NOT_FOUND"
    /// Infer: the session failed to decrypt a request earlier and is closed for good.
    public static let sessionPoisoned = "SESSION_POISONED"
    /// Infer: the sequence number is not the next one expected (replay, reorder or drop).
    public static let sequenceOutOfOrder = "SEQUENCE_OUT_OF_ORDER"
    /// Infer: the request ciphertext did not authenticate; the session is now poisoned.
    public static let requestDecryptionFailed = "REQUEST_DECRYPTION_FAILED"
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
    /// ProvisionKey in this release.
    public static let notImplemented = "NOT_IMPLEMENTED"
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
