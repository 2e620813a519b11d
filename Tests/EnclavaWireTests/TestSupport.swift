import EnclavaWire
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf

/// A stand-in service: Health answers READY, GetEvidence echoes the nonce, Infer echoes after a delay that
/// makes later sequences finish first, OpenSession fails, Shutdown waits (until cancelled).
struct EchoService: TTRPCServiceHandler {
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        do {
            switch EnclaveService.Method(rawValue: method) {
            case .health:
                var response = Enclava_V1_HealthResponse()
                response.state = .ready
                response.modelName = "echo"
                return .success(try response.serializedBytes())
            case .getEvidence:
                let request = try Enclava_V1_GetEvidenceRequest(serializedBytes: payload)
                var response = Enclava_V1_GetEvidenceResponse()
                response.evidence = request.nonce
                return .success(try response.serializedBytes())
            case .infer:
                let request = try Enclava_V1_InferRequest(serializedBytes: payload)
                try? await Task.sleep(for: .milliseconds(Int(20 - min(request.sequence, 20)) * 5))
                var response = Enclava_V1_InferResponse()
                response.sequence = request.sequence
                response.ciphertext = request.ciphertext
                return .success(try response.serializedBytes())
            case .openSession:
                return .failure(RPCError(.failedPrecondition, reason: "NO_KEY", message: "the image key is not provisioned yet"))
            case .shutdown:
                try? await Task.sleep(for: .seconds(120))
                return .success([])
            case .provisionKey, nil:
                return .success([])
            }
        } catch {
            return .failure(RPCError(.invalidArgument, reason: "BAD_REQUEST", message: "\(method): \(error)"))
        }
    }
}

/// A short, unique Unix socket path (sun_path is limited to 107 bytes).
func temporarySocketPath(_ tag: String) -> String {
    "/tmp/enclava-\(tag)-\(UUID().uuidString.prefix(8)).sock"
}

/// Opens a plain byte connection (no ttrpc handling) to `endpoint`.
func connectRaw(_ endpoint: TTRPCEndpoint) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
    let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
        channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }
    }
    switch endpoint {
    case .unix(let path): return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
    case .tcp(let host, let port): return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
    case .vsock, .hvsock: preconditionFailure("raw test connections are Unix or TCP only")
    }
}

/// Sends raw bytes, then collects response frames until `expectFrames` arrived or the peer closed.
func rawExchange(_ endpoint: TTRPCEndpoint, send bytes: [UInt8], expectFrames: Int = .max) async throws
    -> (frames: [Frame], closedByPeer: Bool) {
    let channel = try await connectRaw(endpoint)
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(bytes: bytes))
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder())
        var frames: [Frame] = []
        do {
            for try await chunk in inbound {
                try processor.process(buffer: chunk) { if case .frame(let frame) = $0 { frames.append(frame) } }
                if frames.count >= expectFrames { return (frames, false) }
            }
        } catch {
            return (frames, true)   // reset by peer
        }
        return (frames, true)
    }
}

/// The wire bytes of a request frame for `method` with `payload`.
func requestBytes(streamID: UInt32, service: String = EnclaveService.name, method: String, payload: [UInt8] = []) throws -> [UInt8] {
    var request = Ttrpc_Request()
    request.service = service
    request.method = method
    request.payload = Data(payload)
    return Array(try Frame.request(streamID: streamID, request).encoded().readableBytesView)
}

/// The status carried by a response frame.
func status(of frame: Frame) throws -> RPCError? {
    let response = try frame.decodeResponse()
    return response.status.code == 0 ? nil : RPCError(status: response.status)
}
