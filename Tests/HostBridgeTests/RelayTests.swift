import EnclavaWire
import Foundation
import HostBridge
import NIOCore
import Testing

/// The relay against an in-process stand-in enclave (attach mode).
@Suite(.timeLimit(.minutes(2))) struct RelayTests {
    @Test func relaysManyConcurrentClientsAndRecordsEveryByte() async throws {
        let traffic = TrafficLog()
        let setup = try await AttachedBridge.start(recorder: traffic.recorder)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for clientIndex in 0..<8 {
                group.addTask {
                    let client = try await setup.connect()
                    try await withThrowingTaskGroup(of: Void.self) { calls in
                        for call in 0..<8 {
                            calls.addTask {
                                let marker = Array("client-\(clientIndex)-call-\(call)".utf8)
                                let response = try await client.call(.infer, inferRequest(sequence: UInt64(call * 3), ciphertext: marker),
                                                                     as: Enclava_V1_InferResponse.self)
                                #expect(response.sequence == UInt64(call * 3))
                                #expect(Array(response.ciphertext) == marker.reversed())
                            }
                        }
                        try await calls.waitForAll()
                    }
                    await client.close()
                }
            }
            try await group.waitForAll()
        }
        #expect(await setup.enclave.log.inferArrivals == 64)
        await setup.stop()
        #expect(await setup.enclave.log.shutdowns == 1)

        // The recorder saw the bytes both ways: every marker going in, every reversed marker coming back.
        let toEnclave = traffic.bytes(.clientToEnclave)
        let toClient = traffic.bytes(.enclaveToClient)
        for clientIndex in 0..<8 {
            for call in 0..<8 {
                let marker = Array("client-\(clientIndex)-call-\(call)".utf8)
                #expect(contains(toEnclave, marker))
                #expect(contains(toClient, marker.reversed()))
            }
        }
        #expect(traffic.bytes(.bridgeToClient).isEmpty)
    }

    @Test func oversizedClientFrameIsRefusedAndOthersAreUnaffected() async throws {
        let setup = try await AttachedBridge.start(maxFrameBytes: 4096)
        let big = try await setup.connect(maxFrameBytes: 1 << 20)
        let other = try await setup.connect()
        let error = await #expect(throws: RPCError.self) {
            try await big.call(.infer, inferRequest(sequence: 1, ciphertext: Array(repeating: 7, count: 100_000)),
                               as: Enclava_V1_InferResponse.self)
        }
        #expect(error?.code == .resourceExhausted && error?.reason == "FRAME_TOO_LARGE")
        // The same connection and the other client keep working.
        let again = try await big.call(.infer, inferRequest(sequence: 2, ciphertext: [1, 2, 3]), as: Enclava_V1_InferResponse.self)
        #expect(Array(again.ciphertext) == [3, 2, 1])
        let fine = try await other.call(.infer, inferRequest(sequence: 3, ciphertext: [4, 5]), as: Enclava_V1_InferResponse.self)
        #expect(Array(fine.ciphertext) == [5, 4])
        #expect(await setup.enclave.log.inferArrivals == 2)
        await big.close()
        await other.close()
        await setup.stop()
    }

    @Test func oversizedEnclaveResponseIsRefusedOnItsStreamOnly() async throws {
        let setup = try await AttachedBridge.start(maxFrameBytes: 4096)
        let client = try await setup.connect()
        let error = await #expect(throws: RPCError.self) {
            try await client.call(.getEvidence, Enclava_V1_GetEvidenceRequest(), as: Enclava_V1_GetEvidenceResponse.self)
        }
        #expect(error?.code == .resourceExhausted && error?.reason == "RESPONSE_TOO_LARGE")
        let fine = try await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1, 2]), as: Enclava_V1_InferResponse.self)
        #expect(Array(fine.ciphertext) == [2, 1])
        await client.close()
        await setup.stop()
    }

    @Test func malformedClientIsClosedWhileOthersKeepBeingServed() async throws {
        let setup = try await AttachedBridge.start()
        let client = try await setup.connect()
        let slow = Task {
            try await client.call(.infer, inferRequest(sequence: 300, ciphertext: [9]), as: Enclava_V1_InferResponse.self)
        }
        let closed = try await sendGarbage(port: setup.port, Array("GET / HTTP/1.1\r\nHost: enclave\r\n\r\n".utf8))
        #expect(closed)
        let truncated = try await sendGarbage(port: setup.port, header(length: 50, streamID: 1, type: 1) + [1, 2, 3],
                                            endStream: true)
        #expect(truncated)
        #expect(Array(try await slow.value.ciphertext) == [9])
        let after = try await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1, 2]), as: Enclava_V1_InferResponse.self)
        #expect(Array(after.ciphertext) == [2, 1])
        await client.close()
        await setup.stop()
    }

    @Test func inFlightRequestsGetUnavailableWhenTheEnclaveDiesAndServiceResumesAfterwards() async throws {
        let setup = try await AttachedBridge.start(sendShutdown: false)
        let client = try await setup.connect()
        let hanging = Task {
            try await client.call(.infer, inferRequest(sequence: 5000, ciphertext: [1]), as: Enclava_V1_InferResponse.self)
        }
        while await setup.enclave.log.inferArrivals == 0 { try await Task.sleep(for: .milliseconds(10)) }
        await setup.enclaveServer.close()   // the enclave "dies"
        let error = await #expect(throws: RPCError.self) { try await hanging.value }
        #expect(error?.code == .unavailable && error?.reason == "ENCLAVE_UNAVAILABLE")
        #expect(client.isConnected)

        // While it is gone, requests are answered UNAVAILABLE rather than hanging.
        try? FileManager.default.removeItem(atPath: setup.enclavePath)
        let whileDown = await #expect(throws: RPCError.self) {
            try await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1]), as: Enclava_V1_InferResponse.self)
        }
        #expect(whileDown?.code == .unavailable)

        // Back on the same socket: once the bridge's Health watch sees it ready again (issue 11), the same client
        // connection is served again.
        let revived = StandInEnclave()
        let server = try await TTRPCServer.bind(unixPath: setup.enclavePath, handler: revived)
        var response: Enclava_V1_InferResponse?
        for _ in 0..<400 where response == nil {
            response = try? await client.call(.infer, inferRequest(sequence: 0, ciphertext: [1, 2]), as: Enclava_V1_InferResponse.self)
            if response == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(response.map { Array($0.ciphertext) } == [2, 1])
        await client.close()
        await setup.bridge.shutdown()
        await server.close()
    }

    @Test func shutdownLetsInFlightRequestsFinishAndRefusesNewClients() async throws {
        let setup = try await AttachedBridge.start()
        let client = try await setup.connect()
        let slow = Task {
            try await client.call(.infer, inferRequest(sequence: 400, ciphertext: [1, 2, 3]), as: Enclava_V1_InferResponse.self)
        }
        while await setup.enclave.log.inferArrivals == 0 { try await Task.sleep(for: .milliseconds(10)) }
        await setup.bridge.shutdown()
        #expect(Array(try await slow.value.ciphertext) == [3, 2, 1])
        #expect(await setup.enclave.log.shutdowns == 1)
        // New clients are refused: the listener is closed. (Its freed port is not a reliable witness: in this
        // parallel run another test's listener may already hold it, or the kernel may pick it as a connect's own
        // source port, a TCP self-connect. So a connect that succeeds must not have reached this bridge.)
        #expect(setup.bridge.listeningPort == nil)
        do {
            let elsewhere = try await setup.connect()
            await elsewhere.close()
        } catch let error as RPCError {
            #expect(error.code == .unavailable && error.reason == "CONNECT_FAILED", "\(error)")
        }
        #expect(setup.bridge.clientCount == 0)
        await setup.bridge.shutdown()   // idempotent
        await setup.enclaveServer.close()
    }

    @Test func fileRecorderWritesReadableRecords() async throws {
        let path = temporaryPath("traffic", ".bin")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try FileTrafficRecorder(path: path)
        let setup = try await AttachedBridge.start(recorder: recorder)
        let client = try await setup.connect()
        let marker = Array("opaque-ciphertext-bytes".utf8)
        _ = try await client.call(.infer, inferRequest(sequence: 0, ciphertext: marker), as: Enclava_V1_InferResponse.self)
        await client.close()
        await setup.stop()

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let records = try FileTrafficRecorder.readRecords(path: path)
        let inbound = records.filter { $0.direction == .clientToEnclave }.flatMap(\.bytes)
        let outbound = records.filter { $0.direction == .enclaveToClient }.flatMap(\.bytes)
        #expect(contains(inbound, marker))
        #expect(contains(outbound, marker.reversed()))
        // Each direction is a sequence of whole ttrpc frames.
        #expect(inbound.count >= WireLimits.headerByteCount && inbound[8] == FrameType.request.rawValue)
        #expect(outbound.count >= WireLimits.headerByteCount && outbound[8] == FrameType.response.rawValue)
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}
