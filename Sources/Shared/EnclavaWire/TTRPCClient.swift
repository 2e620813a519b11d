import Foundation
import Logging
import NIOCore
import NIOPosix
import SwiftProtobuf

/// An async ttrpc client over one connection (DESIGN.md §2).
///
/// Calls are multiplexed on odd, increasing stream ids; any number may be in flight. A call that gets a
/// non-OK status throws ``RPCError``; when the connection is lost, every pending call fails with
/// `UNAVAILABLE`.
public final class TTRPCClient: Sendable {
    /// Where a server listens (`.unix(path)` or `.tcp(host, port)`).
    public typealias Endpoint = TTRPCEndpoint

    private let channel: any Channel
    private let handler: NIOLoopBound<TTRPCClientHandler>

    /// The largest request payload this client sends (and response payload it accepts).
    public let maxFrameBytes: Int
    /// The endpoint this client is connected to.
    public let endpoint: TTRPCEndpoint
    /// Sent in `Request.metadata` with every call (e.g. `enclava-model` for a bridge serving several models);
    /// never secret: the host reads it.
    public let metadata: [String: String]

    private init(channel: any Channel, handler: NIOLoopBound<TTRPCClientHandler>, maxFrameBytes: Int,
                 endpoint: TTRPCEndpoint, metadata: [String: String]) {
        self.channel = channel
        self.handler = handler
        self.maxFrameBytes = maxFrameBytes
        self.endpoint = endpoint
        self.metadata = metadata
    }

    /// Connects to a ttrpc server.
    ///
    /// - Parameters:
    ///   - endpoint: `.unix(path)` or `.tcp(host, port)`.
    ///   - maxFrameBytes: the largest payload sent or accepted.
    ///   - group: the event loops to run on.
    ///   - connectTimeout: how long to wait for the connection.
    ///   - logger: receives connection-level problems.
    ///   - metadata: key/value pairs sent in `Request.metadata` with every call (not secret).
    /// - Throws: ``RPCError`` `UNAVAILABLE` (reason `CONNECT_FAILED`) naming the endpoint and the cause.
    public static func connect(to endpoint: TTRPCEndpoint, maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               connectTimeout: Duration = .seconds(10),
                               logger: Logger = Logger(label: "enclava.ttrpc.client"),
                               metadata: [String: String] = [:]) async throws -> TTRPCClient {
        let initializer = Self.pipeline(maxFrameBytes: maxFrameBytes, logger: logger)
        let channel: any Channel
        if case .hvsock = endpoint {
            channel = try await connectHybridVsock(endpoint, group: group, total: connectTimeout, initializer: initializer,
                                                   logger: logger)
        } else {
            do {
                channel = try await endpoint.connectChannel(on: group, timeout: .nanoseconds(Self.nanoseconds(connectTimeout)),
                                                            initializer: initializer).get()
            } catch {
                throw RPCError.unavailable("CONNECT_FAILED", "cannot connect to \(endpoint): \(Self.describeConnectFailure(error, endpoint))")
            }
        }
        let handler: NIOLoopBound<TTRPCClientHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: TTRPCClientHandler.self),
                             eventLoop: channel.eventLoop)
            }.get()
        } catch {
            // The pipeline is gone: the peer closed the connection as soon as it was made.
            channel.close(promise: nil)
            throw RPCError.unavailable("CONNECT_FAILED", "cannot connect to \(endpoint): the server closed the connection at once "
                                       + "(it may be at its connection limit or stopping); retry shortly")
        }
        return TTRPCClient(channel: channel, handler: handler, maxFrameBytes: maxFrameBytes, endpoint: endpoint,
                           metadata: metadata)
    }

    /// The client pipeline: frame decoder, encoder, ttrpc client handler.
    static func pipeline(maxFrameBytes: Int, logger: Logger) -> @Sendable (any Channel) -> EventLoopFuture<Void> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
                try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                try sync.addHandler(TTRPCClientHandler(maxFrameBytes: maxFrameBytes, logger: logger))
            }
        }
    }

    /// Calls a method of ``EnclaveService``.
    ///
    /// - Parameters:
    ///   - method: the method.
    ///   - request: the request message.
    ///   - as: the response message type.
    ///   - timeout: the deadline for the answer (also sent to the server as `timeout_nano`).
    /// - Returns: the decoded response.
    /// - Throws: ``RPCError``: the server's status if not OK; `DEADLINE_EXCEEDED` on timeout; `UNAVAILABLE` if
    ///   the connection is lost; `RESOURCE_EXHAUSTED` if the request exceeds ``maxFrameBytes``;
    ///   `INTERNAL` (reason `MALFORMED_RESPONSE`) if the answer does not parse.
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: EnclaveService.Method, _ request: Request, as: Response.Type = Response.self,
        timeout: Duration = .seconds(30)
    ) async throws -> Response {
        try await self.call(service: EnclaveService.name, method: method.rawValue, request, timeout: timeout)
    }

    /// Calls one `enclava.v1.HostControl` method (the enclave's control socket only) and decodes the answer.
    /// - Throws: ``RPCError`` as ``call(_:_:as:timeout:)``.
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: HostControlService.Method, _ request: Request, as: Response.Type = Response.self,
        timeout: Duration = .seconds(30)
    ) async throws -> Response {
        try await self.call(service: HostControlService.name, method: method.rawValue, request, timeout: timeout)
    }

    private func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        service: String, method: String, _ request: Request, timeout: Duration
    ) async throws -> Response {
        let payload: [UInt8]
        do {
            payload = try request.serializedBytes()
        } catch {
            throw RPCError(.invalidArgument, reason: "ENCODING_FAILED", message: "the request could not be serialized: \(error)")
        }
        let answer = try await self.call(service: service, method: method, payload: payload, timeout: timeout)
        do {
            return try Response(serializedBytes: answer)
        } catch {
            throw RPCError(.internal, reason: "MALFORMED_RESPONSE",
                           message: "the \(method) response is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Calls any ttrpc method with a raw serialized payload.
    ///
    /// - Returns: the raw serialized response payload.
    /// - Throws: ``RPCError`` as ``call(_:_:as:timeout:)``.
    public func call(service: String, method: String, payload: [UInt8], timeout: Duration = .seconds(30))
        async throws -> [UInt8] {
        var request = Ttrpc_Request()
        request.service = service
        request.method = method
        request.payload = Data(payload)
        request.timeoutNano = Self.nanoseconds(timeout)
        request.metadata = self.metadata.sorted { $0.key < $1.key }.map { key, value in
            var pair = Ttrpc_KeyValue()
            pair.key = key
            pair.value = value
            return pair
        }
        let bytes: [UInt8] = try request.serializedBytes()
        guard bytes.count <= self.maxFrameBytes else {
            throw RPCError.frameTooLarge(length: bytes.count, limit: self.maxFrameBytes)
        }
        let eventLoop = self.channel.eventLoop
        let promise = eventLoop.makePromise(of: Ttrpc_Response.self)
        let handler = self.handler
        let timeoutNanos = request.timeoutNano
        eventLoop.execute {
            handler.value.start(payload: bytes, timeoutNanos: timeoutNanos, method: method, promise: promise)
        }
        let response = try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            eventLoop.execute { handler.value.cancel(promise) }
        }
        guard response.status.code == RPCCode.ok.rawValue else {
            throw RPCError(status: response.status)
        }
        return [UInt8](response.payload)
    }

    /// Closes the connection; pending calls fail with `UNAVAILABLE`.
    public func close() async {
        try? await self.channel.close()
    }

    /// `true` while the connection is open.
    public var isConnected: Bool { self.channel.isActive }

    /// A connection failure in words a person can act on (never NIO's type names).
    static func describeConnectFailure(_ error: any Error, _ endpoint: TTRPCEndpoint) -> String {
        var code: Int32?
        if let io = error as? IOError { code = io.errnoCode }
        if let failed = error as? NIOConnectionError {
            code = failed.connectionErrors.compactMap { ($0.error as? IOError)?.errnoCode }.first
            if code == nil, failed.dnsAAAAError != nil || failed.dnsAError != nil {
                return "the host name does not resolve; check --endpoint"
            }
        }
        if error is ChannelError, case .connectTimeout = error as? ChannelError {
            return "no answer before the connect timeout; check that the address is reachable and serving"
        }
        switch code {
        case ECONNREFUSED?:
            if case .unix = endpoint { return "nothing is listening on that socket (connection refused); start the enclave first" }
            return "nothing is listening there (connection refused); start it with `enclava serve --listen HOST:PORT` or check --endpoint"
        case ENOENT?:
            return "the socket does not exist; start the enclave first or check the path"
        case EACCES?, EPERM?:
            return "permission denied; check who may use that socket or address"
        case ENETUNREACH?, EHOSTUNREACH?:
            return "the network or host is unreachable; check --endpoint"
        case let errno?:
            return String(cString: strerror(errno))
        case nil:
            return "the connection failed; check --endpoint"
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : Int64.max }
        return max(0, whole &+ attoseconds / 1_000_000_000)
    }
}
