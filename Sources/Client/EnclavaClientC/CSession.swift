import EnclavaAttestation
import EnclavaClient
import Foundation

/// What an `enclava_session *` points to: one Swift ``ConfidentialSession``, retained while the handle is open.
final class CSession: Sendable {
    let session: ConfidentialSession

    init(session: ConfidentialSession) { self.session = session }

    /// The longest per-call timeout a caller may ask for (one day).
    static let maxTimeoutSeconds = 86_400.0

    /// Opens a session as `enclava_session_open` describes: exactly one policy source, a timeout in (0, 1 day].
    /// - Throws: ``CABIError`` `invalidArgument`, or the client's errors.
    static func open(endpoint: String, policyJSON: String?, policyPath: String?, simHome: String?, model: String?,
                     timeoutSeconds: Double) throws -> CSession {
        guard timeoutSeconds > 0, timeoutSeconds <= maxTimeoutSeconds else {
            throw CABIError(.invalidArgument, "timeout_seconds must be > 0 and at most \(Int(maxTimeoutSeconds)), got \(timeoutSeconds)")
        }
        let policy: AttestationPolicy
        switch (policyJSON, policyPath) {
        case (let json?, nil): policy = try ConfidentialSession.policy(json: json)
        case (nil, let path?): policy = try AttestationPolicy.load(path: path)
        default:
            throw CABIError(.invalidArgument, "give exactly one of policy_json and policy_path (the policy from `enclava policy create`)")
        }
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded(.up)))
        let session = try blockingRun {
            // With a model: routed to it by name and checked against the policy's entry for it before any input.
            try await ConfidentialSession.connect(endpoint: endpoint, policy: policy, simHome: simHome, timeout: timeout,
                                                  model: model)
        }.get()
        return CSession(session: session)
    }

    /// The verified claims as a JSON object (``AttestationJSON``).
    func attestationJSON() -> String {
        let unlocked = (try? blockingRun { [session] in await session.enclaveReportsUnlockedMemory }.get()) ?? false
        return AttestationJSON.document(session: session, memoryUnlocked: unlocked)
    }
}
