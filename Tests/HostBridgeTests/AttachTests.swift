import EnclavaTesting
import EnclavaWire
import Foundation
import HostBridge
import Logging
import Testing

/// Issue 11: `enclava serve --enclave ADDRESS` relays to an enclave someone else launched, here a stand-in
/// behind a fake Firecracker-style VMM (`hvsock:`), and follows it through a restart.
@Suite(.timeLimit(.minutes(2))) struct AttachTests {
    static func infer(_ client: TTRPCClient, sequence: UInt64 = 1) async throws -> Enclava_V1_InferResponse {
        var request = Enclava_V1_InferRequest()
        request.sequence = sequence
        request.ciphertext = Data([1, 2, 3])
        return try await client.call(.infer, request, as: Enclava_V1_InferResponse.self)
    }

    static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<2000 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the condition did not become true in 20 s")
    }

    @Test func relaysThroughAHybridVsockVMMAndFollowsARestart() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "attach").path
        let guestSocket = directory + "/guest-1024"
        let muxer = try FakeHybridVsockMuxer(path: directory + "/vmm.sock")
        defer { muxer.stop() }
        muxer.listen(port: 1024, unixPath: guestSocket)
        var server: TTRPCServer? = try await TTRPCServer.bind(unixPath: guestSocket, handler: StandInEnclave())

        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(endpoint: .hvsock(path: muxer.path, port: 1024)))
        configuration.handleSignals = false
        configuration.attachedHealthInterval = .milliseconds(50)
        configuration.attachedReconnectMaxDelay = .milliseconds(200)
        let bridge = HostBridgeServer(configuration: configuration)
        try await bridge.start()
        let port = try #require(bridge.listeningPort)
        let client = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        #expect(try await Self.infer(client).ciphertext == Data([3, 2, 1]))

        // The guest goes away: clients are told, with the address, instead of waiting.
        await server?.close()
        server = nil
        try? FileManager.default.removeItem(atPath: guestSocket)
        try await Self.waitUntil {
            do { _ = try await Self.infer(client); return false } catch let error as RPCError {
                return error.message.contains("not answering")
            } catch { return false }
        }
        let refused = await #expect(throws: RPCError.self) { _ = try await Self.infer(client) }
        #expect(refused?.code == .unavailable)
        #expect(refused?.reason == "ENCLAVE_UNAVAILABLE")
        #expect(refused?.message.contains("the enclave at hvsock:\(muxer.path):1024 is not answering") == true, "\(String(describing: refused))")

        // It comes back on the same port: the bridge relays again, on the same client connection.
        server = try await TTRPCServer.bind(unixPath: guestSocket, handler: StandInEnclave())
        try await Self.waitUntil { (try? await Self.infer(client)) != nil }
        #expect(try await Self.infer(client, sequence: 2).sequence == 2)
        await client.close()
        await bridge.shutdown()
        await server?.close()
    }

    /// A guest that is not listening yet when the bridge starts is waited for (kata #734), within the ready timeout.
    @Test func waitsForAGuestThatListensLate() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "attach").path
        let guestSocket = directory + "/guest-1024"
        let muxer = try FakeHybridVsockMuxer(path: directory + "/vmm.sock")
        defer { muxer.stop() }
        muxer.listen(port: 1024, unixPath: guestSocket)
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(endpoint: .hvsock(path: muxer.path, port: 1024)))
        configuration.handleSignals = false
        let bridge = HostBridgeServer(configuration: configuration)
        let late = Task {
            while muxer.connectLines.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
            return try await TTRPCServer.bind(unixPath: guestSocket, handler: StandInEnclave())
        }
        try await bridge.start()
        let client = try await TTRPCClient.connect(to: .tcp("127.0.0.1", try #require(bridge.listeningPort)))
        #expect(try await Self.infer(client).sequence == 1)
        await client.close()
        await bridge.shutdown()
        try await late.value.close()
    }

    @Test func aGuestThatNeverListensEndsStartWithTheReason() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "attach").path
        let muxer = try FakeHybridVsockMuxer(path: directory + "/vmm.sock")
        defer { muxer.stop() }
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(endpoint: .hvsock(path: muxer.path, port: 9)))
        configuration.handleSignals = false
        configuration.readyTimeout = .seconds(2)
        let error = await #expect(throws: HostBridgeError.self) { try await HostBridgeServer(configuration: configuration).start() }
        #expect(error?.code == .readyTimeout)
        #expect(error?.message.contains("nothing listens on that guest port yet") == true, "\(String(describing: error))")
    }
}
