import EnclavaWire
import SwiftProtobuf

/// The ttrpc shell over ``EnclaveCore``: parses the request message of each method, calls the core, and
/// serializes the answer. It holds no state of its own.
public struct EnclaveRequestHandler: TTRPCServiceHandler {
    /// The core that answers.
    public let core: EnclaveCore
    private let onShutdown: @Sendable () -> Void

    /// Creates a handler.
    /// - Parameters:
    ///   - core: the enclave core.
    ///   - onShutdown: called once, after a Shutdown call has been answered, to stop the server.
    public init(core: EnclaveCore, onShutdown: @escaping @Sendable () -> Void) {
        self.core = core
        self.onShutdown = onShutdown
    }

    public func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        guard service == EnclaveService.name, let known = EnclaveService.Method(rawValue: method) else {
            return .failure(RPCError(.unimplemented, reason: RuntimeReason.unknownMethod,
                                     message: "\(service)/\(method) is not served; use \(EnclaveService.name)"))
        }
        switch known {
        case .getEvidence:
            return await call(payload, Enclava_V1_GetEvidenceRequest.self) { await core.getEvidence($0) }
        case .openSession:
            return await call(payload, Enclava_V1_OpenSessionRequest.self) { await core.openSession($0) }
        case .infer:
            return await call(payload, Enclava_V1_InferRequest.self) { await core.infer($0) }
        case .provisionKey:
            return await call(payload, Enclava_V1_ProvisionKeyRequest.self) { await core.provisionKey($0) }
        case .health:
            return await call(payload, Enclava_V1_HealthRequest.self) { _ in .success(await core.healthResponse()) }
        case .shutdown:
            return await call(payload, Enclava_V1_ShutdownRequest.self) { _ in
                if await core.beginShutdown() { onShutdown() }
                return .success(Enclava_V1_ShutdownResponse())
            }
        }
    }

    /// Infer is admitted in arrival order up to its session check (see ``EnclaveCore/admitInfer(_:)``), so
    /// that an honest client pipelining requests on one connection never sees `SEQUENCE_OUT_OF_ORDER`;
    /// the other methods are admitted at once.
    public func admit(method: String, service: String, payload: [UInt8]) async -> TTRPCAdmittedCall {
        guard service == EnclaveService.name, method == EnclaveService.Method.infer.rawValue else {
            return { await self.handle(method: method, service: service, payload: payload) }
        }
        guard let request = try? Enclava_V1_InferRequest(serializedBytes: payload) else {
            return { await self.handle(method: method, service: service, payload: payload) }   // answers MALFORMED_REQUEST
        }
        let run = await core.admitInfer(request)
        return { Self.serialize(await run()) }
    }

    private static func serialize<Response: SwiftProtobuf.Message>(_ result: Result<Response, RPCError>)
        -> Result<[UInt8], RPCError> {
        switch result {
        case .success(let response):
            do {
                return .success(try response.serializedBytes())
            } catch {
                return .failure(RPCError(.internal, reason: RuntimeReason.internalError,
                                         message: "could not serialize \(Response.protoMessageName)"))
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    private func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ payload: [UInt8], _ type: Request.Type,
        _ body: (Request) async -> Result<Response, RPCError>
    ) async -> Result<[UInt8], RPCError> {
        let request: Request
        do {
            request = try Request(serializedBytes: payload)
        } catch {
            return .failure(RPCError(.invalidArgument, reason: RuntimeReason.malformedRequest,
                                     message: "the \(Request.protoMessageName) message does not parse"))
        }
        return Self.serialize(await body(request))
    }
}
