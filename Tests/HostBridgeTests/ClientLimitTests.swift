import EnclavaTesting
import EnclavaWire
import Foundation
import HostBridge
import NIOCore
import Testing

/// What one client may do to the bridge and to other clients (DESIGN.md §2): host-control calls are never
/// relayed, and every per-connection bound is explicit. Real TCP sockets against the bridge, which relays
/// to an in-process stand-in enclave.
@Suite(.timeLimit(.minutes(2))) struct ClientLimitTests {
    /// Polls `condition` until it holds; false after `rounds` polls (generous: a bound, not a timing).
    func eventually(rounds: Int = 1500, _ condition: () async -> Bool) async throws -> Bool {
        for _ in 0..<rounds {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test func aClientShutdownIsRefusedAndNeverRelayed() async throws {
        let setup = try await AttachedBridge.start()
        let client = try await setup.connect()
        let refused = await #expect(throws: RPCError.self) {
            try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        }
        #expect(refused?.code == .permissionDenied && refused?.reason == BridgeReason.hostOnlyMethod)
        // Methods outside the client calls (unknown ones, other services) are refused too, so is a request that
        // is not a ttrpc.Request (the bridge cannot tell its method); a data frame is dropped.
        let answers = try await RawFrameConnection.with(port: setup.port) { raw in
            try await raw.send(header(length: 3, streamID: 1, type: FrameType.data.rawValue) + [1, 2, 3]
                               + requestFrame(streamID: 3, method: "Reboot")
                               + requestFrame(streamID: 5, service: "grpc.health.v1.Health", method: "Check")
                               + requestFrame(streamID: 7, method: "Shutdown")
                               + header(length: 2, streamID: 9, type: FrameType.request.rawValue) + [0xFF, 0xFF])
            return [try await raw.nextResponse(), try await raw.nextResponse(), try await raw.nextResponse(),
                    try await raw.nextResponse()]
        }
        #expect(answers.map { $0?.streamID } == [3, 5, 7, 9])
        #expect(answers[3]?.error?.code == .invalidArgument && answers[3]?.error?.reason == BridgeReason.malformedRequest)
        #expect(answers[0]?.error?.code == .unimplemented && answers[0]?.error?.reason == BridgeReason.methodNotRelayed)
        #expect(answers[1]?.error?.code == .unimplemented && answers[1]?.error?.reason == BridgeReason.methodNotRelayed)
        #expect(answers[2]?.error?.code == .permissionDenied && answers[2]?.error?.reason == BridgeReason.hostOnlyMethod)
        #expect(await setup.enclave.log.shutdowns == 0)
        // The enclave keeps serving this client and others.
        let other = try await setup.connect()
        #expect(Array(try await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1, 2]), as: Enclava_V1_InferResponse.self).ciphertext) == [2, 1])
        #expect(Array(try await other.call(.infer, inferRequest(sequence: 0, ciphertext: [3, 4]), as: Enclava_V1_InferResponse.self).ciphertext) == [4, 3])
        await client.close()
        await other.close()
        await setup.stop()
        #expect(await setup.enclave.log.shutdowns == 1)   // the bridge's own, on its link, when it stops
    }

    @Test func connectionsPastTheCapAreClosedWithALogLine() async throws {
        let log = LogLines()
        let setup = try await AttachedBridge.start(logger: log.logger) { $0.maxConnections = 2 }
        let first = try await setup.connect()
        let second = try await setup.connect()
        _ = try await first.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        _ = try await second.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        // (A blocking socket: the bridge may close it before an event-loop wrapper could even be set up.)
        #expect(try RawSocket(port: setup.port).waitForClose(timeout: 30))
        #expect(log.all.contains { $0.contains("refused a client connection") && $0.contains("--max-connections") })
        // The two open connections are unaffected, and a slot frees when one leaves.
        _ = try await second.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        await first.close()
        #expect(try await eventually { setup.bridge.clientCount == 1 })
        let third = try await setup.connect()
        let health = try await third.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        #expect(health.state == .ready)
        await second.close()
        await third.close()
        await setup.stop()
    }

    @Test func anIdleConnectionIsClosedButNotWhileACallIsInFlight() async throws {
        let log = LogLines()
        let setup = try await AttachedBridge.start(logger: log.logger) { $0.idleTimeout = .milliseconds(300) }
        // The call takes 900 ms, three idle timeouts: a connection with a call in flight is not idle. (On a
        // loaded machine the bridge may close a fresh connection before its first request arrives: that
        // connection was idle, so try again; a call that reached the enclave must be answered.)
        var answered: (TTRPCClient, Enclava_V1_InferResponse)?
        for _ in 0..<20 where answered == nil {
            let arrivedBefore = await setup.enclave.log.inferArrivals
            guard let client = try? await setup.connect() else { continue }   // closed while connecting
            do {
                let slow = try await client.call(.infer, inferRequest(sequence: 900, ciphertext: [7, 8]),
                                                 as: Enclava_V1_InferResponse.self)
                answered = (client, slow)
            } catch let error as RPCError {
                let arrived = await setup.enclave.log.inferArrivals > arrivedBefore
                #expect(!arrived, "a connection with a call in flight was closed: \(error)")
                await client.close()
                if arrived { break }
            }
        }
        let (client, slow) = try #require(answered)
        #expect(Array(slow.ciphertext) == [8, 7])
        // Then nothing happens on it, and the bridge closes it.
        #expect(try await eventually { !client.isConnected })
        #expect(log.all.contains { $0.contains("closing an idle client connection") })
        // A connection that never sends a byte is closed too.
        #expect(try RawSocket(port: setup.port).waitForClose(timeout: 30))
        #expect(try await eventually { setup.bridge.clientCount == 0 })
        await client.close()
        await setup.stop()
    }

    @Test func theByteBudgetRefusesTheRequestOverItOnItsStreamOnly() async throws {
        let setup = try await AttachedBridge.start(maxFrameBytes: 4096) { $0.maxInFlightBytesPerConnection = 6000 }
        let client = try await setup.connect()
        let hanging = Task {
            try await client.call(.infer, inferRequest(sequence: 5000, ciphertext: Array(repeating: 1, count: 3000)),
                                  as: Enclava_V1_InferResponse.self)
        }
        #expect(try await eventually { await setup.enclave.log.inferArrivals == 1 })
        let refused = await #expect(throws: RPCError.self) {
            try await client.call(.infer, inferRequest(sequence: 1, ciphertext: Array(repeating: 2, count: 3000)),
                                  as: Enclava_V1_InferResponse.self)
        }
        #expect(refused?.code == .resourceExhausted && refused?.reason == BridgeReason.inFlightBytesExceeded)
        // A request that fits the rest of the budget is relayed; so is a big one on another connection.
        let small = try await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1, 2]), as: Enclava_V1_InferResponse.self)
        #expect(Array(small.ciphertext) == [2, 1])
        let other = try await setup.connect()
        let big = try await other.call(.infer, inferRequest(sequence: 0, ciphertext: Array(repeating: 3, count: 3000)),
                                       as: Enclava_V1_InferResponse.self)
        #expect(big.ciphertext.count == 3000)
        #expect(await setup.enclave.log.inferArrivals == 3)   // the refused request never reached the enclave
        await client.close()
        _ = try? await hanging.value
        await other.close()
        await setup.stop()
    }

    @Test func requestsPastTheReconnectQueueAreRefusedUnavailable() async throws {
        let setup = try await AttachedBridge.start { $0.maxQueuedRequestsPerConnection = 3 }
        // Eight requests in one write reach a connection whose enclave link is not up yet: three wait for
        // the link, five are refused.
        let answers = try await RawFrameConnection.with(port: setup.port) { raw -> [RawResponse] in
            var burst: [UInt8] = []
            for index in 0..<8 {
                let request = inferRequest(sequence: 0, ciphertext: [UInt8(index)])
                burst += try requestFrame(streamID: UInt32(2 * index + 1), method: "Infer", payload: try request.serializedBytes())
            }
            try await raw.send(burst)
            var answers: [RawResponse] = []
            for _ in 0..<8 { if let answer = try await raw.nextResponse() { answers.append(answer) } }
            // Once linked, the same connection is served again.
            try await raw.send(try requestFrame(streamID: 17, method: "Infer",
                                                payload: try inferRequest(sequence: 0, ciphertext: [9]).serializedBytes()))
            if let answer = try await raw.nextResponse() { answers.append(answer) }
            return answers
        }
        try #require(answers.count == 9)
        let refused = answers.prefix(8).filter { $0.error != nil }
        #expect(refused.count == 5)
        #expect(refused.allSatisfy { $0.error?.code == .unavailable && $0.error?.reason == BridgeReason.reconnectQueueFull })
        #expect(Set(answers.prefix(8).filter { $0.error == nil }.map(\.streamID)) == [1, 3, 5])
        #expect(answers[8].streamID == 17 && answers[8].error == nil)
        #expect(await setup.enclave.log.inferArrivals == 4)
        await setup.stop()
    }
}
