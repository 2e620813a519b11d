import EnclavaClient
import EnclavaWire

/// The proxy's verified sessions, one per model the policy pins (or one unnamed session for a policy without
/// `models`). A session is opened — and the enclave attested — before the proxy listens; one that is lost
/// (connection closed, session poisoned) is dropped, and the next call opens a new one, attesting again.
public actor EnclaveSessionPool {
    /// Opens an attested session for a model name (`nil`: the bridge's only model).
    public typealias Connector = @Sendable (_ model: String?) async throws -> ConfidentialSession

    /// The names requests may ask for, sorted; empty when the policy names none (any `model` then reaches the
    /// bridge's only enclave).
    public nonisolated let models: [String]
    private let connector: Connector
    private var sessions: [String: ConfidentialSession] = [:]
    private var connecting: [String: Task<ConfidentialSession, any Error>] = [:]

    /// Creates a pool.
    /// - Parameters:
    ///   - models: the names the policy pins (`AttestationPolicy.pinnedModelNames`).
    ///   - connector: opens and attests a session.
    public init(models: [String], connector: @escaping Connector) {
        self.models = models
        self.connector = connector
    }

    /// The key of a model's session; `""` for the unnamed one.
    private func key(_ model: String?) -> String { model ?? "" }

    /// Which session a request's `model` goes to.
    /// - Throws: ``ProxyError`` `modelNotFound` listing the models, for a name the policy does not pin.
    public nonisolated func resolve(_ requested: String?) throws -> String? {
        guard !models.isEmpty else { return nil }
        if let requested, models.contains(requested) { return requested }
        if requested == nil || requested == "", models.count == 1 { return models[0] }
        throw ProxyError(.modelNotFound, "the model `\(requested ?? "")` is not served here; the policy pins: "
                             + models.joined(separator: ", "))
    }

    /// Opens (and attests) every model's session, as the proxy does before it listens.
    /// - Throws: ``ProxyError`` `attestationFailed` or `enclaveUnavailable` naming the model.
    public func connectAll() async throws {
        for model in (models.isEmpty ? [nil] : models.map { Optional($0) }) {
            do { _ = try await session(for: model) } catch {
                let failure = ProxyError.from(error)
                throw ProxyError(failure.code, (model.map { "model `\($0)`: " } ?? "") + failure.message)
            }
        }
    }

    /// Runs `body` with the model's session; when the session was lost (the connection dropped or the session
    /// failed), opens a new one — attesting the enclave again — and runs `body` once more.
    /// - Throws: ``ProxyError``.
    public func withSession<T: Sendable>(model: String?,
                                         _ body: @Sendable (ConfidentialSession) async throws -> T) async throws -> T {
        let first = try await session(for: model)
        do {
            return try await body(first)
        } catch {
            guard Self.isLoss(error) else { throw ProxyError.from(error) }
            await drop(first, model: model)
            do {
                return try await body(try await session(for: model))
            } catch {
                if Self.isLoss(error), let current = sessions[key(model)] { await drop(current, model: model) }
                throw ProxyError.from(error)
            }
        }
    }

    /// Closes every session.
    public func closeAll() async {
        for session in sessions.values { await session.close() }
        sessions = [:]
    }

    private func session(for model: String?) async throws -> ConfidentialSession {
        let key = key(model)
        if let session = sessions[key], await session.isUsable { return session }
        if let pending = connecting[key] { return try await pending.value }
        let connector = self.connector
        let task = Task { try await connector(model) }
        connecting[key] = task
        defer { connecting[key] = nil }
        let session = try await task.value
        sessions[key] = session
        return session
    }

    private func drop(_ session: ConfidentialSession, model: String?) async {
        if sessions[key(model)] === session { sessions[key(model)] = nil }
        await session.close()
    }

    /// Whether an error means the session (or its connection) is gone, so a new one may succeed.
    static func isLoss(_ error: any Error) -> Bool {
        guard let error = error as? ClientError else { return false }
        switch error.code {
        case .sessionUnusable, .responseDecryptionFailed, .responseSequenceMismatch: return true
        case .remote:
            let reason = error.rpcError?.reason ?? ""
            return error.rpcError?.code == .unavailable
                || ["SESSION_NOT_FOUND", "SESSION_POISONED", "REQUEST_DECRYPTION_FAILED"].contains(reason)
        default: return false
        }
    }
}
