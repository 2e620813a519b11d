import EnclavaWire

/// What one `Health` answer means to a bridge waiting for its enclave to start (no I/O; the polling loop is
/// ``EnclaveSupervisor/waitUntilReady(socketPath:process:)``).
enum EnclaveReadiness: Sendable, Equatable {
    /// Ready: relay to it.
    case ready
    /// Waiting for its model key, and the bridge relays in that state (its owner reaches it through the bridge).
    case waitingForKey
    /// Startup failed: give up with the enclave's reason.
    case failed(message: String)
    /// Not yet: poll again (the reason is kept for the timeout message).
    case notYet(problem: String)

    /// Reads a Health answer.
    /// - Parameters:
    ///   - health: the enclave's answer.
    ///   - serveWhileWaitingForKey: ``HostBridgeConfiguration/serveWhileWaitingForKey``.
    init(_ health: Enclava_V1_HealthResponse, serveWhileWaitingForKey: Bool) {
        switch health.state {
        case .ready:
            self = .ready
        case .waitingForKey where serveWhileWaitingForKey:
            self = .waitingForKey
        case .waitingForKey:
            self = .notYet(problem: "it waits for its model key, and the bridge was not configured to relay in that state")
        case .failed:
            self = .failed(message: health.message.isEmpty ? "no reason given" : health.message)
        default:
            self = .notYet(problem: "it reported \(health.state)")
        }
    }
}
