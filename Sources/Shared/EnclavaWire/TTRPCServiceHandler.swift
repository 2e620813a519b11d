/// The application side of a ``TTRPCServer``: answers one unary call.
///
/// The server calls ``handle(method:service:payload:)`` concurrently for concurrent requests, from a
/// Swift task; return a serialized response message or an ``RPCError``.
public protocol TTRPCServiceHandler: Sendable {
    /// Answers one call.
    ///
    /// - Parameters:
    ///   - method: the method name, e.g. `Health`.
    ///   - service: the service name, e.g. `enclava.v1.Enclave`.
    ///   - payload: the serialized request message (untrusted bytes).
    /// - Returns: the serialized response message, or the error to send.
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError>

    /// Whether this handler serves `service`/`method`. The server answers `UNIMPLEMENTED` without
    /// calling ``handle(method:service:payload:)`` when it returns `false`.
    /// The default accepts exactly the methods of ``EnclaveService``.
    func supports(service: String, method: String) -> Bool
}

extension TTRPCServiceHandler {
    public func supports(service: String, method: String) -> Bool {
        service == EnclaveService.name && EnclaveService.Method(rawValue: method) != nil
    }
}
