import EnclavaWire
import NIOConcurrencyHelpers
import NIOCore

/// Whether the enclave can take connections right now.
enum EnclaveAvailability: Sendable, Equatable {
    /// Not launched yet, or waiting for `Health` = ready.
    case starting
    /// Ready at this endpoint (the private socket of a launched enclave, or the address of an attached one).
    case ready(endpoint: TTRPCEndpoint)
    /// Ready in this process, behind the ocall edge (``OcallEnclave``).
    case readyInProcess(OcallEnclave)
    /// Dead or restarting, with the reason to give clients.
    case down(reason: String)
}

/// Shared, lock-protected state that event-loop handlers read synchronously: enclave availability,
/// open client connections and the number of requests in flight.
final class BridgeState: Sendable {
    private struct Values {
        var availability: EnclaveAvailability = .starting
        var draining = false
        var clients: [UInt64: any Channel] = [:]
        var inFlight = 0
        var nextConnectionID: UInt64 = 1
    }

    private let values = NIOLockedValueBox(Values())

    var availability: EnclaveAvailability {
        get { self.values.withLockedValue { $0.availability } }
        set { self.values.withLockedValue { $0.availability = newValue } }
    }

    /// `true` once shutdown has begun: new requests are refused with `UNAVAILABLE`.
    var isDraining: Bool { self.values.withLockedValue { $0.draining } }

    func beginDraining() { self.values.withLockedValue { $0.draining = true } }

    /// Registers a client connection and returns its id, or nil when `limit` connections are open already.
    func register(_ channel: any Channel, limit: Int) -> UInt64? {
        self.values.withLockedValue { values in
            guard values.clients.count < limit else { return nil }
            let id = values.nextConnectionID
            values.nextConnectionID += 1
            values.clients[id] = channel
            return id
        }
    }

    func unregister(_ id: UInt64) {
        _ = self.values.withLockedValue { $0.clients.removeValue(forKey: id) }
    }

    /// The open client connections.
    var clients: [any Channel] { self.values.withLockedValue { Array($0.clients.values) } }

    var clientCount: Int { self.values.withLockedValue { $0.clients.count } }

    /// Requests relayed to the enclave and not yet answered, over all clients.
    var inFlight: Int { self.values.withLockedValue { $0.inFlight } }

    func adjustInFlight(by delta: Int) {
        self.values.withLockedValue { $0.inFlight += delta }
    }
}
