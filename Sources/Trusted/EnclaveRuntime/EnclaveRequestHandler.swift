import EnclavaWire
import SwiftProtobuf

/// The ttrpc shell over ``EnclaveCore``: parses the request message of each method, calls the core, and
/// serializes the answer. It holds no state of its own.
///
/// One handler serves one socket (DESIGN.md §2): the **client** socket serves what clients may call
/// (GetEvidence, OpenSession, Infer, ProvisionKey, Health) and refuses Shutdown and the `enclava.v1.HostControl`
/// calls (the sealed-state exchange) with `PERMISSION_DENIED` (`HOST_ONLY_METHOD`); the **control** socket, which
/// only the launching host knows, serves Health, Shutdown and HostControl and refuses the client methods (`NOT_A_CONTROL_METHOD`). So no client can stop the enclave,
/// whatever the bridge in between relays. Evidence and sessions are bound to the connection they came on.
public struct EnclaveRequestHandler: TTRPCServiceHandler {
    /// Which socket a handler serves.
    public enum Channel: String, Sendable {
        /// The socket clients reach (through the host bridge, or directly).
        case client
        /// The private socket of the launching host: Health and Shutdown.
        case control

        /// Whether `method` is served on this channel.
        public func serves(_ method: EnclaveService.Method) -> Bool {
            switch self {
            case .client: method.isClientCall
            case .control: method == .health || !method.isClientCall
            }
        }
    }

    /// The core that answers.
    public let core: EnclaveCore
    /// The socket this handler serves.
    public let channel: Channel
    private let onShutdown: @Sendable () -> Void

    /// Creates a handler.
    /// - Parameters:
    ///   - core: the enclave core.
    ///   - channel: the socket it serves.
    ///   - onShutdown: called once, after a Shutdown call on the control socket has been answered, to stop
    ///     the servers.
    public init(core: EnclaveCore, channel: Channel, onShutdown: @escaping @Sendable () -> Void = {}) {
        self.core = core
        self.channel = channel
        self.onShutdown = onShutdown
    }

    /// The `enclava.v1.Enclave` methods and the `enclava.v1.HostControl` ones (the latter answered on the control
    /// socket only; on the client socket with `HOST_ONLY_METHOD`, which says more than `UNKNOWN_METHOD` would).
    public func supports(service: String, method: String) -> Bool {
        switch service {
        case EnclaveService.name: EnclaveService.Method(rawValue: method) != nil
        case HostControlService.name: HostControlService.Method(rawValue: method) != nil
        default: false
        }
    }

    /// One call on a connection of its own, forgotten right after (nothing it creates outlives it).
    public func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        let connection = TTRPCConnectionID.next()
        let result = await self.handle(method: method, service: service, payload: payload, connection: connection)
        await core.connectionClosed(connection)
        return result
    }

    /// Answers one call that arrived on `connection`.
    public func handle(method: String, service: String, payload: [UInt8],
                       connection: TTRPCConnectionID) async -> Result<[UInt8], RPCError> {
        if service == HostControlService.name, let control = HostControlService.Method(rawValue: method) {
            return await self.handle(control, payload: payload)
        }
        guard service == EnclaveService.name, let known = EnclaveService.Method(rawValue: method) else {
            return .failure(RPCError(.unimplemented, reason: RuntimeReason.unknownMethod,
                                     message: "\(service)/\(method) is not served; use \(EnclaveService.name)"))
        }
        if let refusal = self.refusal(of: known) { return .failure(refusal) }
        switch known {
        case .getEvidence:
            return await call(payload, Enclava_V1_GetEvidenceRequest.self) { await core.getEvidence($0, connection: connection) }
        case .openSession:
            return await call(payload, Enclava_V1_OpenSessionRequest.self) { await core.openSession($0, connection: connection) }
        case .infer:
            return await call(payload, Enclava_V1_InferRequest.self) { await core.infer($0, connection: connection) }
        case .provisionKey:
            return await call(payload, Enclava_V1_ProvisionKeyRequest.self) { await core.provisionKey($0, connection: connection) }
        case .health:
            return await call(payload, Enclava_V1_HealthRequest.self) { _ in .success(await core.healthResponse()) }
        case .shutdown:
            return await call(payload, Enclava_V1_ShutdownRequest.self) { _ in
                if await core.beginShutdown() { onShutdown() }
                return .success(Enclava_V1_ShutdownResponse())
            }
        }
    }

    /// An `enclava.v1.HostControl` call: served on the control socket only; on the client socket it is refused
    /// `PERMISSION_DENIED` (`HOST_ONLY_METHOD`), so no client can take or plant sealed state.
    private func handle(_ method: HostControlService.Method, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        guard channel == .control else {
            return .failure(RPCError(.permissionDenied, reason: RuntimeReason.hostOnlyMethod,
                                     message: "\(HostControlService.name)/\(method.rawValue) is a host-control call, accepted "
                                         + "only on the enclave's private control socket; clients cannot call it",
                                     metadata: ["method": method.rawValue]))
        }
        switch method {
        case .offerSealedState:
            return await call(payload, Enclava_V1_OfferSealedStateRequest.self) {
                .success(await core.sealedStates.offer([UInt8]($0.blob)))
            }
        case .takeSealedState:
            return await call(payload, Enclava_V1_TakeSealedStateRequest.self) {
                .success(await core.sealedStates.take(after: $0.afterGeneration, waitMilliseconds: $0.waitMs))
            }
        }
    }

    /// Why `method` is refused on this handler's socket, or nil when it is served here.
    func refusal(of method: EnclaveService.Method) -> RPCError? {
        guard !channel.serves(method) else { return nil }
        switch channel {
        case .client:
            return RPCError(.permissionDenied, reason: RuntimeReason.hostOnlyMethod,
                            message: "\(method.rawValue) is a host-control call, accepted only on the enclave's private "
                                + "control socket; clients cannot call it", metadata: ["method": method.rawValue])
        case .control:
            return RPCError(.permissionDenied, reason: RuntimeReason.notAControlMethod,
                            message: "\(method.rawValue) is a client call; the control socket serves only Health, "
                                + "Shutdown and the sealed-state exchange, call it on the client socket", metadata: ["method": method.rawValue])
        }
    }

    /// Infer is admitted in arrival order up to its session check (see ``EnclaveCore/admitInfer(_:connection:)``),
    /// so that an honest client pipelining requests on one connection never sees `SEQUENCE_OUT_OF_ORDER`;
    /// the other methods are admitted at once.
    public func admit(method: String, service: String, payload: [UInt8],
                      connection: TTRPCConnectionID) async -> TTRPCAdmittedCall {
        guard service == EnclaveService.name, method == EnclaveService.Method.infer.rawValue, channel.serves(.infer),
              let request = try? Enclava_V1_InferRequest(serializedBytes: payload) else {
            // Anything else, including an Infer that does not parse (answered MALFORMED_REQUEST), runs as is.
            return { await self.handle(method: method, service: service, payload: payload, connection: connection) }
        }
        let run = await core.admitInfer(request, connection: connection)
        return { Self.serialize(await run()) }
    }

    /// Forgets what the connection held (its sessions and unused evidence).
    public func connectionClosed(_ connection: TTRPCConnectionID) async {
        await core.connectionClosed(connection)
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
