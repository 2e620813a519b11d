import EnclavaWire
import Foundation
import HostBridge
import Testing

/// An enclave waiting for its model key (owner release, DESIGN.md §7) behind the bridge.
@Suite(.timeLimit(.minutes(2))) struct WaitingForKeyTests {
    /// With `serveWhileWaitingForKey` (what `enclava serve` sets) the bridge starts, says the enclave waits for its
    /// key, and relays GetEvidence, ProvisionKey and Health to it.
    @Test func theBridgeRelaysToAnEnclaveWaitingForItsKey() async throws {
        var enclave = StandInEnclave()
        enclave.healthState = .waitingForKey
        let setup = try await AttachedBridge.start(enclave: enclave) { $0.serveWhileWaitingForKey = true }
        #expect(await setup.bridge.enclaveStartedWaitingForKey)
        let client = try await setup.connect()
        let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        #expect(health.state == .waitingForKey)
        let evidence = try await client.call(.getEvidence, Enclava_V1_GetEvidenceRequest(), as: Enclava_V1_GetEvidenceResponse.self)
        #expect(evidence.evidence.count == 10_000)
        let provisioned = try await client.call(.provisionKey, Enclava_V1_ProvisionKeyRequest(), as: Enclava_V1_ProvisionKeyResponse.self)
        #expect(provisioned.state == .ready)
        await client.close()
        await setup.stop()
    }

    /// Without it, the bridge does not start, and its error says why.
    @Test func withoutItTheReadyTimeoutNamesTheWait() async throws {
        var enclave = StandInEnclave()
        enclave.healthState = .waitingForKey
        let path = temporaryPath("enclave")
        let server = try await TTRPCServer.bind(unixPath: path, handler: enclave)
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(socketPath: path))
        configuration.handleSignals = false
        configuration.readyTimeout = .seconds(10)   // room for a first Health poll on a loaded machine
        let bridge = HostBridgeServer(configuration: configuration)
        let error = await #expect(throws: HostBridgeError.self) { try await bridge.start() }
        await server.close()
        try? FileManager.default.removeItem(atPath: path)
        #expect(error?.code == .readyTimeout)
        #expect(error?.message.contains("waits for its model key") == true, "\(String(describing: error))")
    }

    /// An enclave that is simply ready is not reported as waiting.
    @Test func aReadyEnclaveIsNotWaiting() async throws {
        let setup = try await AttachedBridge.start { $0.serveWhileWaitingForKey = true }
        #expect(await !setup.bridge.enclaveStartedWaitingForKey)
        await setup.stop()
    }
}
