import EnclavaWire

/// An enclave's life-cycle state as it reports it (`Health`, and the answer to `ProvisionKey`).
public enum EnclaveLifecycleState: String, Sendable, Equatable {
    /// The process is up; nothing is loaded.
    case starting
    /// The image is verified; the model key has not been released yet (`enclava provision`).
    case waitingForKey = "waiting-for-key"
    /// The model is being decrypted and loaded.
    case loading
    /// Serving requests.
    case ready
    /// Startup failed (or the enclave is shutting down).
    case failed
    /// The enclave reported no state, or one this client does not know.
    case unknown

    /// The state of a wire answer.
    init(_ state: Enclava_V1_HealthResponse.State) {
        switch state {
        case .starting: self = .starting
        case .waitingForKey: self = .waitingForKey
        case .loading: self = .loading
        case .ready: self = .ready
        case .failed: self = .failed
        default: self = .unknown
        }
    }
}
