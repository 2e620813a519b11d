import EnclavaWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct TTRPCServerClientTests {
    static func withServer<R>(tcp: Bool = false, maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
                              _ body: (TTRPCServer, TTRPCEndpoint) async throws -> R) async throws -> R {
        let server: TTRPCServer
        let endpoint: TTRPCEndpoint
        if tcp {
            server = try await TTRPCServer.bind(host: "127.0.0.1", port: 0, handler: EchoService(), maxFrameBytes: maxFrameBytes)
            endpoint = .tcp("127.0.0.1", try #require(server.port))
        } else {
            let path = temporarySocketPath("wire")
            server = try await TTRPCServer.bind(unixPath: path, handler: EchoService(), maxFrameBytes: maxFrameBytes)
            endpoint = .unix(path)
        }
        do {
            let result = try await body(server, endpoint)
            await server.close()
            return result
        } catch {
            await server.close()
            throw error
        }
    }

    @Test(arguments: [false, true])
    func callsRoundTrip(tcp: Bool) async throws {
        try await Self.withServer(tcp: tcp) { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.state == .ready && health.modelName == "echo")

            var request = Enclava_V1_GetEvidenceRequest()
            request.nonce = Data((0..<32).map { UInt8($0) })
            let evidence = try await client.call(.getEvidence, request, as: Enclava_V1_GetEvidenceResponse.self)
            #expect(evidence.evidence == request.nonce)

            let error = await #expect(throws: RPCError.self) {
                try await client.call(.openSession, Enclava_V1_OpenSessionRequest(), as: Enclava_V1_OpenSessionResponse.self)
            }
            #expect(error?.code == .failedPrecondition && error?.reason == "NO_KEY")
            #expect(error?.message == "the image key is not provisioned yet")
            await client.close()
        }
    }

    @Test func concurrentCallsOnOneConnectionAreMatchedByStream() async throws {
        try await Self.withServer { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            try await withThrowingTaskGroup(of: (UInt64, Enclava_V1_InferResponse).self) { group in
                for sequence in 0..<20 as Range<UInt64> {
                    group.addTask {
                        var request = Enclava_V1_InferRequest()
                        request.sequence = sequence
                        request.ciphertext = Data(repeating: UInt8(sequence), count: Int(sequence) * 100)
                        return (sequence, try await client.call(.infer, request, as: Enclava_V1_InferResponse.self))
                    }
                }
                var seen = Set<UInt64>()
                for try await (sequence, response) in group {
                    #expect(response.sequence == sequence)
                    #expect(response.ciphertext == Data(repeating: UInt8(sequence), count: Int(sequence) * 100))
                    seen.insert(sequence)
                }
                #expect(seen.count == 20)
            }
            await client.close()
        }
    }

    @Test func unknownServiceOrMethodIsUnimplemented() async throws {
        try await Self.withServer { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            for (service, method) in [(EnclaveService.name, "Nope"), ("other.v1.Service", "Health")] {
                let error = await #expect(throws: RPCError.self) {
                    try await client.call(service: service, method: method, payload: [])
                }
                #expect(error?.code == .unimplemented)
            }
            await client.close()
        }
    }

    @Test func badProtobufIsInvalidArgument() async throws {
        try await Self.withServer { _, endpoint in
            // A frame whose payload is not a ttrpc.Request at all.
            var bytes = header(length: 3, streamID: 1, type: 1, flags: 0) + [0x0A, 0xFF, 0xFF]
            // A valid ttrpc.Request whose inner payload is not a GetEvidenceRequest.
            bytes += try requestBytes(streamID: 3, method: "GetEvidence", payload: [0x0A, 0x20, 0x01])
            let (frames, _) = try await rawExchange(endpoint, send: bytes, expectFrames: 2)
            let byStream = Dictionary(uniqueKeysWithValues: try frames.map { ($0.streamID, try status(of: $0)) })
            #expect(byStream[1]??.code == .invalidArgument && byStream[1]??.reason == "MALFORMED_REQUEST")
            #expect(byStream[3]??.code == .invalidArgument && byStream[3]??.reason == "BAD_REQUEST")
        }
    }

    @Test func oversizedRequestIsResourceExhaustedAndTheConnectionKeepsWorking() async throws {
        try await Self.withServer(maxFrameBytes: 1024) { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint, maxFrameBytes: 1 << 20)
            var big = Enclava_V1_GetEvidenceRequest()
            big.nonce = Data(repeating: 0x33, count: 100_000)
            let error = await #expect(throws: RPCError.self) {
                try await client.call(.getEvidence, big, as: Enclava_V1_GetEvidenceResponse.self)
            }
            #expect(error?.code == .resourceExhausted && error?.reason == "FRAME_TOO_LARGE")
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.state == .ready)
            await client.close()
        }
    }

    @Test func requestOverTheClientLimitIsRefusedLocally() async throws {
        try await Self.withServer { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint, maxFrameBytes: 64)
            var big = Enclava_V1_GetEvidenceRequest()
            big.nonce = Data(repeating: 1, count: 100)
            let error = await #expect(throws: RPCError.self) {
                try await client.call(.getEvidence, big, as: Enclava_V1_GetEvidenceResponse.self)
            }
            #expect(error?.code == .resourceExhausted)
            #expect(client.isConnected)
            await client.close()
        }
    }

    @Test func timeoutIsDeadlineExceededAndTheConnectionKeepsWorking() async throws {
        try await Self.withServer { _, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            let error = await #expect(throws: RPCError.self) {
                try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self,
                                      timeout: .milliseconds(200))
            }
            #expect(error?.code == .deadlineExceeded)
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.state == .ready)
            await client.close()
        }
    }

    @Test func connectionLossFailsPendingCallsWithUnavailable() async throws {
        let path = temporarySocketPath("loss")
        let server = try await TTRPCServer.bind(unixPath: path, handler: EchoService())
        let client = try await TTRPCClient.connect(to: .unix(path))
        _ = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        let pending = Task {
            try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        }
        while server.connectionCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        await server.close()
        let error = await #expect(throws: RPCError.self) { try await pending.value }
        #expect(error?.code == .unavailable)
        let after = await #expect(throws: RPCError.self) {
            try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        }
        #expect(after?.code == .unavailable)
        await client.close()
    }

    @Test func connectingToNothingIsUnavailable() async throws {
        let error = await #expect(throws: RPCError.self) {
            try await TTRPCClient.connect(to: .unix(temporarySocketPath("none")))
        }
        #expect(error?.code == .unavailable && error?.reason == "CONNECT_FAILED")
    }

    @Test(arguments: [false, true])
    func malformedConnectionIsClosedWhileOthersAreServed(tcp: Bool) async throws {
        try await Self.withServer(tcp: tcp) { server, endpoint in
            let client = try await TTRPCClient.connect(to: endpoint)
            async let slow = client.call(.infer, Enclava_V1_InferRequest(), as: Enclava_V1_InferResponse.self)
            // A valid request, then garbage: the valid one may be answered, then the connection closes.
            let garbage = try requestBytes(streamID: 1, method: "Health") + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let (_, closed) = try await rawExchange(endpoint, send: garbage)
            #expect(closed)
            // A truncated frame followed by EOF is also just that connection's problem.
            let truncated = try await connectRaw(endpoint)
            try await truncated.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(bytes: header(length: 100, streamID: 1, type: 1, flags: 0) + [1, 2]))
            }
            #expect(try await slow.sequence == 0)
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
            #expect(health.state == .ready)
            #expect(client.isConnected)
            await client.close()
        }
    }
}
