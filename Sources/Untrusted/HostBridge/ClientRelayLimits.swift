/// The per-connection bounds of a ``ClientRelayHandler``, from ``HostBridgeConfiguration``.
struct ClientRelayLimits: Sendable {
    /// The largest frame payload relayed in either direction.
    let maxFrameBytes: Int
    /// Request bytes (header and payload) one connection may have relayed and unanswered.
    let maxInFlightBytes: Int
    /// Requests held while the link to the enclave is being (re)connected.
    let maxQueuedRequests: Int
    /// How long a connection may stay idle.
    let idleTimeout: Duration
    /// Whether each call is logged (``RequestLog``) when its answer goes back.
    let logRequests: Bool

    init(_ configuration: HostBridgeConfiguration) {
        self.maxFrameBytes = configuration.maxFrameBytes
        self.maxInFlightBytes = configuration.maxInFlightBytesPerConnection
        self.maxQueuedRequests = configuration.maxQueuedRequestsPerConnection
        self.idleTimeout = configuration.idleTimeout
        self.logRequests = configuration.logRequests
    }
}
