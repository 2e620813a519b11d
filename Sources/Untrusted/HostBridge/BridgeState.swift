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
        /// One per enclave (route), in the order of ``HostBridgeConfiguration/routes``.
        var availability: [EnclaveAvailability]
        var draining = false
        var clients: [UInt64: any Channel] = [:]
        var inFlight = 0
        var nextConnectionID: UInt64 = 1
    }

    private let values: NIOLockedValueBox<Values>

    /// State for a bridge with `routeCount` enclaves, all starting.
    init(routeCount: Int = 1) {
        self.values = NIOLockedValueBox(Values(availability: Array(repeating: .starting, count: max(1, routeCount))))
    }

    /// Whether the enclave of route `route` can take connections now.
    func availability(of route: Int) -> EnclaveAvailability {
        self.values.withLockedValue { $0.availability.indices.contains(route) ? $0.availability[route] : .down(reason: "no such enclave") }
    }

    /// Sets the availability of the enclave of route `route`.
    func setAvailability(_ availability: EnclaveAvailability, of route: Int) {
        self.values.withLockedValue { values in
            guard values.availability.indices.contains(route) else { return }
            values.availability[route] = availability
        }
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
