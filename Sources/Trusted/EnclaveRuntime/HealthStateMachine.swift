import EnclavaWire

/// The enclave's life cycle as Health reports it: starting → [waiting-for-key →] loading → ready | failed, then
/// stopping. An image whose key is released after start (its owner's `ProvisionKey`, or a key broker the enclave
/// asks itself, DESIGN.md §7) waits in `waitingForKey`: GetEvidence and ProvisionKey are served there (a broker
/// image refuses ProvisionKey), sessions are not.
///
/// Transitions that do not follow this order are ignored (and reported as `false`), so a late failure
/// cannot turn a stopping enclave back into a ready one.
public struct HealthStateMachine: Sendable, Equatable {
    /// A life-cycle state.
    public enum State: Sendable, Equatable {
        /// The process is up; nothing is loaded.
        case starting
        /// The image is open and its signature verified; the model key has not been released yet.
        case waitingForKey
        /// The image is being opened, unsealed and decrypted.
        case loading
        /// Serving requests.
        case ready
        /// Startup failed; the reason is one line and never a secret.
        case failed(reason: String)
        /// Shutdown was requested; in-flight requests finish, new ones are refused.
        case stopping
    }

    /// The current state.
    public private(set) var state: State = .starting
    /// Whether the key awaited in `waitingForKey` comes from a key broker the enclave asks itself (rather than
    /// from its owner's `ProvisionKey`): Health and the refusals say whom the enclave waits for.
    public private(set) var keyFromBroker = false

    /// Creates a state machine in `.starting`.
    public init() {}

    /// Whether requests other than Health and Shutdown are served.
    public var isServing: Bool { state == .ready }

    /// Whether the enclave waits for its model key (GetEvidence and ProvisionKey are served).
    public var isWaitingForKey: Bool { state == .waitingForKey }

    /// starting → waitingForKey; `fromBroker` when the enclave asks a key broker for the key.
    @discardableResult
    public mutating func awaitKey(fromBroker: Bool = false) -> Bool {
        guard state == .starting else { return false }
        state = .waitingForKey
        keyFromBroker = fromBroker
        return true
    }

    /// starting | waitingForKey → loading.
    @discardableResult
    public mutating func beginLoading() -> Bool {
        guard state == .starting || state == .waitingForKey else { return false }
        state = .loading
        return true
    }

    /// loading → ready.
    @discardableResult
    public mutating func loaded() -> Bool {
        guard state == .loading else { return false }
        state = .ready
        return true
    }

    /// starting | waitingForKey | loading → failed(reason).
    @discardableResult
    public mutating func failed(_ reason: String) -> Bool {
        switch state {
        case .starting, .waitingForKey, .loading:
            let oneLine = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
            state = .failed(reason: oneLine)
            return true
        default:
            return false
        }
    }

    /// any state but stopping → stopping.
    @discardableResult
    public mutating func stop() -> Bool {
        guard state != .stopping else { return false }
        state = .stopping
        return true
    }

    /// The state as the wire enum, with its one-line message.
    public var wireState: (state: Enclava_V1_HealthResponse.State, message: String) {
        switch state {
        case .starting: (.starting, "")
        case .waitingForKey: (.waitingForKey, keyFromBroker ? Self.waitingForBrokerMessage : Self.waitingForKeyMessage)
        case .loading: (.loading, "")
        case .ready: (.ready, "")
        case .failed(let reason): (.failed, reason)
        case .stopping: (.failed, "shutting down")
        }
    }

    /// Health's one-line message while the enclave waits for its key.
    public static let waitingForKeyMessage = "waiting for the model key (the owner releases it with `enclava provision`)"
    /// Health's one-line message while the enclave asks its key broker for the key.
    public static let waitingForBrokerMessage = "waiting for the model key (the enclave asks its key broker; "
        + "`enclava keybroker log` says why a release was refused)"

    /// The error every non-Health request gets when the enclave is not serving.
    public var notServingError: RPCError {
        switch state {
        case .stopping:
            RPCError(.unavailable, reason: RuntimeReason.shuttingDown,
                     message: "the enclave is shutting down; retry against a restarted enclave")
        case .failed(let reason):
            RPCError(.unavailable, reason: RuntimeReason.notReady,
                     message: "the enclave failed to start: \(reason)")
        case .waitingForKey where keyFromBroker:
            RPCError(.failedPrecondition, reason: RuntimeReason.waitingForKey,
                     message: "the enclave is waiting for the model key, which it asks its key broker for; retry when "
                         + "Health says ready")
        case .waitingForKey:
            RPCError(.failedPrecondition, reason: RuntimeReason.waitingForKey,
                     message: "the enclave is waiting for the model key: its owner releases it with `enclava provision` "
                         + "(GetEvidence, then ProvisionKey); retry when Health says ready")
        default:
            RPCError(.unavailable, reason: RuntimeReason.notReady,
                     message: "the enclave is still loading its model; retry when Health says ready")
        }
    }
}
