import EnclavaWire

/// The per-connection rules of the relay as a value type with no I/O (``ClientRelayHandler`` is its shell):
/// which client requests may be relayed, and which are in flight with how many bytes.
///
/// A request is checked in this order, and the first rule it breaks answers it (nothing is relayed):
/// 1. the bridge is draining → `UNAVAILABLE` (`SHUTTING_DOWN`);
/// 2. not a client call of `enclava.v1.Enclave` → `PERMISSION_DENIED` (`HOST_ONLY_METHOD`) for `Shutdown`,
///    `UNIMPLEMENTED` (`METHOD_NOT_RELAYED`) for anything else;
/// 3. its stream id already has a call in flight → `INVALID_ARGUMENT` (`DUPLICATE_STREAM_ID`);
/// 4. its bytes would take the connection's in-flight bytes past the budget → `RESOURCE_EXHAUSTED`
///    (`INFLIGHT_BYTES_EXCEEDED`).
struct ClientRelayLedger {
    /// The connection's request-byte budget.
    let maxInFlightBytes: Int
    /// Admitted requests not yet answered: stream id → bytes.
    private(set) var inFlight: [UInt32: Int] = [:]
    /// The sum of ``inFlight``'s values.
    private(set) var inFlightBytes = 0

    init(maxInFlightBytes: Int) {
        self.maxInFlightBytes = maxInFlightBytes
    }

    /// Applies the rules to one request and, when it passes, records it as in flight.
    /// - Parameters:
    ///   - streamID: its stream id.
    ///   - service: `ttrpc.Request.service`.
    ///   - method: `ttrpc.Request.method`.
    ///   - bytes: its size on the wire (header and payload).
    ///   - draining: whether the bridge is shutting down.
    /// - Returns: nil when admitted, or the error to answer it with.
    mutating func admit(streamID: UInt32, service: String, method: String, bytes: Int, draining: Bool) -> RPCError? {
        if draining {
            return .unavailable(BridgeReason.shuttingDown, "the host bridge is shutting down; retry on another host")
        }
        if let refusal = Self.relayRefusal(service: service, method: method) { return refusal }
        guard self.inFlight[streamID] == nil else {
            return RPCError(.invalidArgument, reason: BridgeReason.duplicateStreamID,
                            message: "stream \(streamID) already has a call in flight; use a new odd stream id")
        }
        guard bytes <= self.maxInFlightBytes - self.inFlightBytes else {
            return RPCError(.resourceExhausted, reason: BridgeReason.inFlightBytesExceeded,
                            message: "this connection already has \(self.inFlightBytes) request bytes in flight; this "
                                + "\(bytes)-byte request would exceed its \(self.maxInFlightBytes)-byte budget; wait for "
                                + "answers before sending more",
                            metadata: ["in_flight_bytes": String(self.inFlightBytes), "limit": String(self.maxInFlightBytes)])
        }
        self.inFlight[streamID] = bytes
        self.inFlightBytes += bytes
        return nil
    }

    /// Forgets an answered request. Returns whether it was in flight.
    @discardableResult
    mutating func release(_ streamID: UInt32) -> Bool {
        guard let bytes = self.inFlight.removeValue(forKey: streamID) else { return false }
        self.inFlightBytes -= bytes
        return true
    }

    /// Forgets every request (the connection closed) and returns how many there were.
    mutating func releaseAll() -> Int {
        defer {
            self.inFlight.removeAll()
            self.inFlightBytes = 0
        }
        return self.inFlight.count
    }

    /// Why the bridge does not relay `service`/`method` from a client, or nil when it does (DESIGN.md §2).
    static func relayRefusal(service: String, method: String) -> RPCError? {
        guard service == EnclaveService.name, let known = EnclaveService.Method(rawValue: method) else {
            return RPCError(.unimplemented, reason: BridgeReason.methodNotRelayed,
                            message: "\(service.prefix(100))/\(method.prefix(100)) is not a client call of \(EnclaveService.name); "
                                + "the bridge relays GetEvidence, OpenSession, Infer, ProvisionKey and Health")
        }
        guard known.isClientCall else {
            return RPCError(.permissionDenied, reason: BridgeReason.hostOnlyMethod,
                            message: "\(known.rawValue) is a host-control call; the bridge never relays it from a client "
                                + "(it travels only on the bridge's private link to the enclave)",
                            metadata: ["method": known.rawValue])
        }
        return nil
    }
}
