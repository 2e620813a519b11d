/// The stable `ErrorInfo.reason` strings the host bridge answers with on its own (without the enclave).
/// Clients match on these, so they never change meaning; a new refusal gets a new reason.
public enum BridgeReason {
    /// The bridge is shutting down; retry on another host.
    public static let shuttingDown = "SHUTTING_DOWN"
    /// The enclave is starting, restarting or cannot be reached; retry shortly.
    public static let enclaveUnavailable = "ENCLAVE_UNAVAILABLE"
    /// A request frame that does not hold a `ttrpc.Request`.
    public static let malformedRequest = "MALFORMED_REQUEST"
    /// A host-control method (Shutdown) sent by a client: never relayed (`PERMISSION_DENIED`).
    public static let hostOnlyMethod = "HOST_ONLY_METHOD"
    /// A service or method clients may not call (`UNIMPLEMENTED`): never relayed.
    public static let methodNotRelayed = "METHOD_NOT_RELAYED"
    /// A request on a stream id that already has a call in flight.
    public static let duplicateStreamID = "DUPLICATE_STREAM_ID"
    /// The connection's in-flight request bytes would exceed its budget (`RESOURCE_EXHAUSTED`).
    public static let inFlightBytesExceeded = "INFLIGHT_BYTES_EXCEEDED"
    /// The connection's queue of requests waiting for the enclave link is full (`UNAVAILABLE`).
    public static let reconnectQueueFull = "RECONNECT_QUEUE_FULL"
    /// The enclave's response is larger than the bridge's frame limit.
    public static let responseTooLarge = "RESPONSE_TOO_LARGE"
    /// A multi-model bridge was called without a model name (`INVALID_ARGUMENT`); the message lists the models.
    public static let modelRequired = "MODEL_REQUIRED"
    /// The named model is not served here (`NOT_FOUND`); the message and `models` metadata list the served ones.
    public static let unknownModel = "UNKNOWN_MODEL"
    /// The `enclava-model` metadata is given twice or is too long (`INVALID_ARGUMENT`).
    public static let malformedModelName = "MALFORMED_MODEL_NAME"
}
