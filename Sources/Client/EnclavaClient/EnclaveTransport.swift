import EnclavaWire
import SwiftProtobuf

/// How a ``ConfidentialSession`` reaches the enclave: one unary call of the `enclava.v1.Enclave` service.
///
/// ``TTRPCClient`` is the transport; tests wrap it to tamper with what travels (a man in the middle).
public protocol EnclaveTransport: Sendable {
    /// Calls a method.
    /// - Throws: ``RPCError`` for a non-OK answer or a transport failure.
    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: EnclaveService.Method, _ request: Request, as: Response.Type, timeout: Duration
    ) async throws -> Response

    /// Closes the transport.
    func close() async
}

extension TTRPCClient: EnclaveTransport {}
