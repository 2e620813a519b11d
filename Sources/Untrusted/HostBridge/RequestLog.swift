import EnclavaWire
import Foundation

/// `enclava serve --log-requests`: one line per relayed call when its answer goes back — which connection,
/// which method, how many bytes each way, the status and how long it took. Metadata only: payloads are
/// ciphertext to the bridge and are never logged.
struct RequestLog {
    private struct Started {
        let method: String
        let bytes: Int
        let at: ContinuousClock.Instant
    }

    private var started: [UInt32: Started] = [:]

    /// Notes a request the bridge relays (or answers itself).
    mutating func begin(streamID: UInt32, method: String, bytes: Int, at now: ContinuousClock.Instant = .now) {
        started[streamID] = Started(method: method.isEmpty ? "?" : String(method.prefix(64)), bytes: bytes, at: now)
    }

    /// The line for the answer to `streamID` (nil when its request was not noted): `method=Infer stream=5 in=812B
    /// out=340B status=OK ms=12.4`, with the refusal reason when there is one.
    mutating func end(streamID: UInt32, status: Google_Rpc_Status?, bytes: Int,
                      at now: ContinuousClock.Instant = .now) -> String? {
        guard let request = started.removeValue(forKey: streamID) else { return nil }
        let elapsed = now - request.at
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15
        var line = "method=\(request.method) stream=\(streamID) in=\(request.bytes)B out=\(bytes)B"
        let code = status.map { RPCCode(rawValue: $0.code).map { "\($0)" } ?? "\($0.code)" } ?? "OK"
        line += " status=\(code)"
        if let status, status.code != 0, let reason = RPCError(status: status).reasonIfKnown { line += " reason=\(reason)" }
        return line + " ms=" + String(format: "%.1f", milliseconds)
    }

    /// Requests noted and not answered (their lines are dropped when the connection closes).
    var pending: Int { started.count }
}

private extension RPCError {
    /// The stable reason, when the status carried one.
    var reasonIfKnown: String? { reason.isEmpty ? nil : String(reason.prefix(64)) }
}
