import EnclavaWire
import Foundation
import HostBridge
import Logging
import NIOCore
import NIOPosix

/// What the stand-in enclave saw.
actor EnclaveLog {
    var shutdowns = 0
    var inferArrivals = 0
    func shutdownReceived() { self.shutdowns += 1 }
    func inferArrived() { self.inferArrivals += 1 }
}

/// An in-process stand-in for `enclava-runtime`: Health = READY (or ``healthState``); Infer echoes the ciphertext
/// reversed after `sequence` milliseconds (sequence ≥ 1000: waits a minute); GetEvidence answers 10 000 bytes;
/// ProvisionKey answers READY; Shutdown is counted.
struct StandInEnclave: TTRPCServiceHandler {
    let log = EnclaveLog()
    /// A file created each time Health answers READY (a scripted child can wait for it: the bridge has seen it ready).
    var readyMarker: String?
    /// What Health reports.
    var healthState: Enclava_V1_HealthResponse.State = .ready

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        do {
            switch EnclaveService.Method(rawValue: method) {
            case .health:
                var response = Enclava_V1_HealthResponse()
                response.state = self.healthState
                response.backend = "stand-in"
                if let readyMarker { FileManager.default.createFile(atPath: readyMarker, contents: nil) }
                return .success(try response.serializedBytes())
            case .provisionKey:
                var response = Enclava_V1_ProvisionKeyResponse()
                response.state = .ready
                return .success(try response.serializedBytes())
            case .infer:
                await self.log.inferArrived()
                let request = try Enclava_V1_InferRequest(serializedBytes: payload)
                let wait = request.sequence >= 1000 ? 60_000 : Int(request.sequence)
                try? await Task.sleep(for: .milliseconds(wait))
                var response = Enclava_V1_InferResponse()
                response.sequence = request.sequence
                response.ciphertext = Data(request.ciphertext.reversed())
                return .success(try response.serializedBytes())
            case .getEvidence:
                var response = Enclava_V1_GetEvidenceResponse()
                response.evidence = Data(repeating: 0xE5, count: 10_000)
                return .success(try response.serializedBytes())
            case .shutdown:
                await self.log.shutdownReceived()
                return .success([])
            default:
                return .failure(RPCError(.unimplemented, reason: "NOT_IN_STAND_IN", message: method))
            }
        } catch {
            return .failure(RPCError(.invalidArgument, reason: "BAD_REQUEST", message: "\(error)"))
        }
    }
}

/// A thread-safe list of recorded traffic.
final class TrafficLog: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [(TrafficDirection, UInt64, [UInt8])] = []

    var recorder: ClosureTrafficRecorder {
        ClosureTrafficRecorder { bytes, direction, connection in
            self.lock.withLock { self.records.append((direction, connection, Array(bytes.readableBytesView))) }
        }
    }

    func bytes(_ direction: TrafficDirection) -> [UInt8] {
        self.lock.withLock { self.records.filter { $0.0 == direction }.flatMap(\.2) }
    }
}

func temporaryPath(_ tag: String, _ suffix: String = ".sock") -> String {
    "/tmp/enclava-\(tag)-\(UUID().uuidString.prefix(8))\(suffix)"
}

func inferRequest(sequence: UInt64, ciphertext: [UInt8]) -> Enclava_V1_InferRequest {
    var request = Enclava_V1_InferRequest()
    request.sequence = sequence
    request.ciphertext = Data(ciphertext)
    return request
}

/// Raw header bytes written by hand.
func header(length: UInt32, streamID: UInt32, type: UInt8, flags: UInt8 = 0) -> [UInt8] {
    [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
     UInt8(streamID >> 24), UInt8(streamID >> 16 & 0xFF), UInt8(streamID >> 8 & 0xFF), UInt8(streamID & 0xFF),
     type, flags]
}

/// Sends raw bytes to a TCP port (then half-closes if `endStream`) and reads until the peer closes;
/// returns whether it closed.
func sendGarbage(port: Int, _ bytes: [UInt8], endStream: Bool = false) async throws -> Bool {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                            configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(bytes: bytes))
        if endStream { outbound.finish() }
        do {
            for try await _ in inbound {}
        } catch {
            return true
        }
        return true
    }
}

/// A bridge attached to an in-process stand-in enclave on a Unix socket.
struct AttachedBridge {
    let enclave: StandInEnclave
    let enclaveServer: TTRPCServer
    let enclavePath: String
    let bridge: HostBridgeServer
    let port: Int

    static func start(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes, recorder: (any TrafficRecorder)? = nil,
                      sendShutdown: Bool = true, logger: Logger = Logger(label: "enclava.host-bridge.test"),
                      enclave: StandInEnclave = StandInEnclave(),
                      configure: (inout HostBridgeConfiguration) -> Void = { _ in }) async throws -> AttachedBridge {
        let path = temporaryPath("enclave")
        let server = try await TTRPCServer.bind(unixPath: path, handler: enclave)
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(socketPath: path, sendShutdown: sendShutdown))
        configuration.maxFrameBytes = maxFrameBytes
        configuration.trafficRecorder = recorder
        configuration.handleSignals = false
        configuration.shutdownGracePeriod = .seconds(5)
        configure(&configuration)
        let bridge = HostBridgeServer(configuration: configuration, logger: logger)
        try await bridge.start()
        guard let port = bridge.listeningPort else { throw CancellationError() }
        return AttachedBridge(enclave: enclave, enclaveServer: server, enclavePath: path, bridge: bridge, port: port)
    }

    func connect(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes) async throws -> TTRPCClient {
        try await TTRPCClient.connect(to: .tcp("127.0.0.1", self.port), maxFrameBytes: maxFrameBytes)
    }

    func stop() async {
        await self.bridge.shutdown()
        await self.enclaveServer.close()
    }
}
