/// The rest of an admitted call (see ``TTRPCServiceHandler/admit(method:service:payload:)``): runs
/// concurrently with later calls and returns the serialized response message or the error to send.
public typealias TTRPCAdmittedCall = @Sendable () async -> Result<[UInt8], RPCError>

/// The application side of a ``TTRPCServer``: answers one unary call.
///
/// Calls of one connection are admitted one at a time, in the order their requests arrived:
/// the server awaits ``admit(method:service:payload:)`` for a request before admitting the next one,
/// then runs the returned ``TTRPCAdmittedCall`` concurrently with the calls admitted after it.
/// Put order-sensitive work (e.g. a per-session sequence check) in `admit`, and keep it short:
/// it holds up the connection's later requests. The default `admit` does nothing in order and
/// returns a call to ``handle(method:service:payload:)``.
public protocol TTRPCServiceHandler: Sendable {
    /// Answers one call.
    ///
    /// - Parameters:
    ///   - method: the method name, e.g. `Health`.
    ///   - service: the service name, e.g. `enclava.v1.Enclave`.
    ///   - payload: the serialized request message (untrusted bytes).
    /// - Returns: the serialized response message, or the error to send.
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError>

    /// Admits one call, in arrival order per connection, and returns the rest of it.
    ///
    /// - Parameters: as ``handle(method:service:payload:)``.
    /// - Returns: the remainder of the call; the server runs it concurrently with later calls.
    func admit(method: String, service: String, payload: [UInt8]) async -> TTRPCAdmittedCall

    /// Admits one call that arrived on `connection`; servers call this one. The default ignores the
    /// connection and calls ``admit(method:service:payload:)``. A service that binds state to connections
    /// implements it together with ``connectionClosed(_:)``.
    ///
    /// - Parameters:
    ///   - method: the method name.
    ///   - service: the service name.
    ///   - payload: the serialized request message (untrusted bytes).
    ///   - connection: the connection the request arrived on.
    /// - Returns: the remainder of the call.
    func admit(method: String, service: String, payload: [UInt8], connection: TTRPCConnectionID) async -> TTRPCAdmittedCall

    /// Called once when `connection` has closed and every call it admitted has finished: the service drops
    /// what it bound to it. The default does nothing.
    func connectionClosed(_ connection: TTRPCConnectionID) async

    /// Called once when `connection` is accepted, before any of its calls, with the peer's address as text
    /// (`unix` for a Unix socket). The default does nothing; a service that records who asked (an audit log)
    /// keeps it until ``connectionClosed(_:)``.
    func connectionOpened(_ connection: TTRPCConnectionID, peer: String)

    /// Whether this handler serves `service`/`method`. The server answers `UNIMPLEMENTED` without
    /// calling ``handle(method:service:payload:)`` when it returns `false`.
    /// The default accepts exactly the methods of ``EnclaveService``.
    func supports(service: String, method: String) -> Bool
}

extension TTRPCServiceHandler {
    public func supports(service: String, method: String) -> Bool {
        service == EnclaveService.name && EnclaveService.Method(rawValue: method) != nil
    }

    public func admit(method: String, service: String, payload: [UInt8]) async -> TTRPCAdmittedCall {
        { await self.handle(method: method, service: service, payload: payload) }
    }

    public func admit(method: String, service: String, payload: [UInt8], connection: TTRPCConnectionID) async
        -> TTRPCAdmittedCall {
        await self.admit(method: method, service: service, payload: payload)
    }

    public func connectionClosed(_ connection: TTRPCConnectionID) async {}

    public func connectionOpened(_ connection: TTRPCConnectionID, peer: String) {}
}
