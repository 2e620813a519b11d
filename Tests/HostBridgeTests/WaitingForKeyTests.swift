import EnclavaWire
import Foundation
@testable import HostBridge
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

    /// What each Health answer means while the bridge waits for its enclave: without
    /// `serveWhileWaitingForKey` a waiting enclave is not ready, and the timeout would say why.
    @Test func eachHealthStateHasItsReadiness() {
        func health(_ state: Enclava_V1_HealthResponse.State, _ message: String = "") -> Enclava_V1_HealthResponse {
            var response = Enclava_V1_HealthResponse()
            response.state = state
            response.message = message
            return response
        }
        #expect(EnclaveReadiness(health(.ready), serveWhileWaitingForKey: false) == .ready)
        #expect(EnclaveReadiness(health(.waitingForKey), serveWhileWaitingForKey: true) == .waitingForKey)
        guard case .notYet(let problem) = EnclaveReadiness(health(.waitingForKey), serveWhileWaitingForKey: false) else {
            Issue.record("a waiting enclave counted as ready without serveWhileWaitingForKey")
            return
        }
        #expect(problem.contains("waits for its model key"))
        #expect(EnclaveReadiness(health(.failed, "bad image"), serveWhileWaitingForKey: true) == .failed(message: "bad image"))
        #expect(EnclaveReadiness(health(.failed), serveWhileWaitingForKey: true) == .failed(message: "no reason given"))
        #expect(EnclaveReadiness(health(.loading), serveWhileWaitingForKey: true) == .notYet(problem: "it reported loading"))
    }

    /// An enclave that is simply ready is not reported as waiting.
    @Test func aReadyEnclaveIsNotWaiting() async throws {
        let setup = try await AttachedBridge.start { $0.serveWhileWaitingForKey = true }
        #expect(await !setup.bridge.enclaveStartedWaitingForKey)
        await setup.stop()
    }
}
