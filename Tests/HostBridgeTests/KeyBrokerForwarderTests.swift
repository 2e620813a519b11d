import EnclavaTesting
import Foundation
import HostBridge
import Logging
import NIOCore
import NIOPosix
import Testing

/// Echoes every byte back (the stand-in broker the forwarder splices to).
private final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

@Suite("Key broker forwarder")
struct KeyBrokerForwarderTests {
    /// An echo server on a loopback port, a forwarder to it on a Unix socket in a fresh folder.
    func withForwarder(maxConnections: Int = 8, idleTimeout: TimeAmount = .seconds(60),
                       recorder: (any TrafficRecorder)? = nil, _ body: (KeyBrokerForwarder) async throws -> Void) async throws {
        let echo = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-fwd")
        let forwarder = try await KeyBrokerForwarder.start(
            socketPath: folder.appendingPathComponent("keybroker.sock").path, host: "127.0.0.1", port: echo.localAddress?.port ?? 0,
            maxConnections: maxConnections, idleTimeout: idleTimeout, recorder: recorder, logger: Logger(label: "test.forwarder"))
        do { try await body(forwarder) } catch {
            await forwarder.close(); try? await echo.close(); try? FileManager.default.removeItem(at: folder)
            throw error
        }
        await forwarder.close()
        try? await echo.close()
        try? FileManager.default.removeItem(at: folder)
    }

    @Test("bytes go to the one target and back, in order, in both directions")
    func splicesBothWays() async throws {
        try await withForwarder { forwarder in
            let socket = try RawSocket(unixPath: forwarder.socketPath ?? "")
            // Starts with a zero "frame length": RawSocket.receive reads frames, and this is raw bytes.
            let payload = [0, 0, 0, 0] + (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try socket.send(payload)
            #expect(try socket.receive(atLeast: payload.count, timeout: 30).prefix(payload.count) == payload[...])
        }
    }

    @Test("with a traffic recorder, every forwarded byte is recorded, each way under its own direction")
    func recordsBothWays() async throws {
        let recorder = TrafficLog()
        try await withForwarder(recorder: recorder.recorder) { forwarder in
            let socket = try RawSocket(unixPath: forwarder.socketPath ?? "")
            let payload: [UInt8] = [0, 0, 0, 0] + Array("enclave-to-broker".utf8)
            try socket.send(payload)
            #expect(try socket.receive(atLeast: payload.count, timeout: 30).prefix(payload.count) == payload[...])
        }
        #expect(recorder.bytes(.enclaveToBroker) == [0, 0, 0, 0] + Array("enclave-to-broker".utf8))
        #expect(recorder.bytes(.brokerToEnclave) == [0, 0, 0, 0] + Array("enclave-to-broker".utf8))
        #expect(recorder.bytes(.clientToEnclave).isEmpty)
    }

    @Test("one connection more than the cap is closed at once; the others keep working")
    func boundedConnections() async throws {
        try await withForwarder(maxConnections: 2) { forwarder in
            let first = try RawSocket(unixPath: forwarder.socketPath ?? "")
            let second = try RawSocket(unixPath: forwarder.socketPath ?? "")
            try first.send([1, 2, 3])
            #expect(try first.receive(atLeast: 3, timeout: 30) == [1, 2, 3])
            let third = try RawSocket(unixPath: forwarder.socketPath ?? "")
            #expect(third.waitForClose(timeout: 30))
            try second.send([4])
            #expect(try second.receive(atLeast: 1, timeout: 30) == [4])
        }
    }

    @Test("a connection with no bytes either way is closed after the idle timeout")
    func idleClosed() async throws {
        try await withForwarder(idleTimeout: .milliseconds(300)) { forwarder in
            let idle = try RawSocket(unixPath: forwarder.socketPath ?? "")
            #expect(idle.waitForClose(timeout: 30))
        }
    }
}
