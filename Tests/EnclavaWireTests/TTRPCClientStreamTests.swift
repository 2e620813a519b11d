import EnclavaWire
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf
import Testing

/// The client against a hand-written server that records stream ids and misbehaves on purpose.
@Suite(.timeLimit(.minutes(1))) struct TTRPCClientStreamTests {
    actor Recorder {
        var streamIDs: [UInt32] = []
        func add(_ id: UInt32) { self.streamIDs.append(id) }
    }

    @Test func clientUsesOddIncreasingStreamIDsAndRejectsMalformedResponses() async throws {
        let recorder = Recorder()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = try #require(server.channel.localAddress?.port)
        let serverTask = Task {
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    try await connection.executeThenClose { inbound, outbound in
                        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder())
                        var count = 0
                        for try await chunk in inbound {
                            var frames: [Frame] = []
                            try processor.process(buffer: chunk) { if case .frame(let f) = $0 { frames.append(f) } }
                            for frame in frames {
                                await recorder.add(frame.streamID)
                                count += 1
                                // An answer on a stream nobody asked for is ignored by the client.
                                try await outbound.write(try Frame.response(streamID: frame.streamID + 1, Ttrpc_Response()).encoded())
                                if count == 4 {
                                    let junk = Frame(streamID: frame.streamID, type: .response, payload: ByteBuffer(bytes: [0xFF, 0xFF]))
                                    try await outbound.write(try junk.encoded())
                                } else {
                                    var response = Ttrpc_Response()
                                    var health = Enclava_V1_HealthResponse()
                                    health.state = .ready
                                    response.payload = try health.serializedData()
                                    try await outbound.write(try Frame.response(streamID: frame.streamID, response).encoded())
                                }
                            }
                        }
                    }
                }
            }
        }
        let client = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        for _ in 0..<3 {
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.state == .ready)
        }
        let error = await #expect(throws: RPCError.self) {
            try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        }
        #expect(error?.code == .internal && error?.reason == "MALFORMED_RESPONSE")
        #expect(await recorder.streamIDs == [1, 3, 5, 7])
        await client.close()
        serverTask.cancel()
        try? await server.channel.close()
    }
}
