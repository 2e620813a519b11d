import NIOCore

/// Which way relayed bytes went.
public enum TrafficDirection: UInt8, Sendable, CaseIterable {
    /// Bytes a client sent, as forwarded to the enclave.
    case clientToEnclave = 1
    /// Bytes the enclave sent, as forwarded to the client.
    case enclaveToClient = 2
    /// Frames the bridge itself sent to a client (RESOURCE_EXHAUSTED, UNAVAILABLE answers).
    case bridgeToClient = 3
    /// Bytes the enclave sent on a forwarded key-broker connection, as forwarded to the broker.
    case enclaveToBroker = 4
    /// Bytes the key broker sent, as forwarded to the enclave.
    case brokerToEnclave = 5
}

/// Receives every byte the bridge relays. Called on event-loop threads: return quickly.
///
/// The bridge never decrypts, so what a recorder sees is exactly what the host can see; the
/// integration tests use this to show that no request input or result appears in clear.
public protocol TrafficRecorder: Sendable {
    /// Records bytes written to one side of one client connection.
    ///
    /// - Parameters:
    ///   - bytes: the bytes, exactly as written to the socket.
    ///   - direction: which way they went.
    ///   - connection: the bridge's id of the client connection (for the key-broker directions, the forwarded
    ///     connection's number, counted from 1 like the forwarder's log lines).
    func record(_ bytes: ByteBuffer, direction: TrafficDirection, connection: UInt64)

    /// Flushes and releases resources; called once when the bridge stops.
    func close()
}

extension TrafficRecorder {
    public func close() {}
}

/// A recorder that calls a closure (handy in tests).
public struct ClosureTrafficRecorder: TrafficRecorder {
    private let body: @Sendable (ByteBuffer, TrafficDirection, UInt64) -> Void

    /// Creates a recorder that forwards every record to `body`.
    public init(_ body: @escaping @Sendable (_ bytes: ByteBuffer, _ direction: TrafficDirection, _ connection: UInt64) -> Void) {
        self.body = body
    }

    public func record(_ bytes: ByteBuffer, direction: TrafficDirection, connection: UInt64) {
        self.body(bytes, direction, connection)
    }
}
