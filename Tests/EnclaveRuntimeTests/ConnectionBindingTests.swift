import EnclavaClient
import EnclavaCrypto
import EnclavaWire
import Foundation
import Testing
@testable import EnclaveRuntime

/// Sessions and issued evidence are bound to the socket connection they were created on, with quotas that
/// refuse the new entry rather than evict another connection's (DESIGN.md §2), over real Unix sockets.
@Suite(.serialized) struct ConnectionBindingTests {
    let world: EndToEndWorld

    init() throws { world = try EndToEndWorld.shared.get() }

    static func getEvidence(_ client: TTRPCClient) async throws -> Enclava_V1_GetEvidenceResponse {
        var request = Enclava_V1_GetEvidenceRequest()
        request.nonce = Data(SecureRandom.bytes(count: 32))
        return try await client.call(.getEvidence, request, as: Enclava_V1_GetEvidenceResponse.self)
    }

    static func openSession(_ client: TTRPCClient, with evidence: Enclava_V1_GetEvidenceResponse) async throws -> [UInt8] {
        let digest = SHA2.sha384([UInt8](evidence.evidence))
        let sender = try HPKE.Sender(recipientPublicKey: [UInt8](evidence.hpkePublicKey),
                                     info: SessionKeySchedule.info(evidenceDigest: digest))
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(digest)
        return [UInt8](try await client.call(.openSession, open, as: Enclava_V1_OpenSessionResponse.self).sessionID)
    }

    func payload() throws -> Enclava_V1_InferPayload {
        var payload = Enclava_V1_InferPayload()
        payload.inputs = try Golden.load().inputs
        return payload
    }

    /// Over every transport: through the hvsock VMM and across the ocall edge (one edge connection per client) too.
    @Test(arguments: EndToEndWorld.Transport.allCases)
    func aSessionIsRefusedOnAnotherConnectionAndEndsWithItsOwn(over transport: EndToEndWorld.Transport) async throws {
        let (runtime, endpoint) = try await world.startRuntime(transport: transport)
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        let request = try await session.makeRequest(payload: try payload())
        let thief = try await TTRPCClient.connect(to: endpoint)
        let refused = await #expect(throws: RPCError.self) {
            _ = try await thief.call(.infer, request, as: Enclava_V1_InferResponse.self)
        }
        #expect(refused?.code == .notFound && refused?.reason == RuntimeReason.sessionNotFound)
        // The attempt cost the owner nothing: the same request still decrypts and runs on its connection.
        let response = try await session.send(request)
        #expect(try await session.openResponse(response, for: 0).hasError == false)
        #expect(await runtime.core.sessionTableCounts().sessions == 1)
        await session.close()
        try await waitUntil { await runtime.core.sessionTableCounts().sessions == 0 }
        await thief.close()
        await runtime.shutdown()
    }

    @Test func sessionsPastTheQuotaAreRefusedWhileAnotherConnectionIsServed() async throws {
        let (runtime, endpoint) = try await world.startRuntime(sessionLimits: .init(maxSessionsPerConnection: 3))
        let greedy = try await TTRPCClient.connect(to: endpoint)
        for _ in 0..<3 { _ = try await Self.openSession(greedy, with: try await Self.getEvidence(greedy)) }
        let refused = await #expect(throws: RPCError.self) {
            _ = try await Self.openSession(greedy, with: try await Self.getEvidence(greedy))
        }
        #expect(refused?.code == .resourceExhausted && refused?.reason == RuntimeReason.sessionQuotaExceeded)
        let other = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        #expect(try await other.infer(try payload().inputs).isEmpty == false)
        #expect(await runtime.core.sessionTableCounts().sessions == 4)
        await other.close()
        await greedy.close()
        await runtime.shutdown()
    }

    @Test func anEvidenceFloodDoesNotInvalidateAnotherConnectionsEvidence() async throws {
        let (runtime, endpoint) = try await world.startRuntime(sessionLimits: .init(maxIssuedEvidencePerConnection: 2))
        let patient = try await TTRPCClient.connect(to: endpoint)
        let evidence = try await Self.getEvidence(patient)
        let flooder = try await TTRPCClient.connect(to: endpoint)
        let flooderEvidence = try await Self.getEvidence(flooder)
        var reasons: [String: Int] = [:]
        for _ in 0..<49 {
            do {
                _ = try await Self.getEvidence(flooder)
                reasons["OK", default: 0] += 1
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                reasons[error.reason, default: 0] += 1
            }
        }
        #expect(reasons == ["OK": 1, RuntimeReason.evidenceQuotaExceeded: 48])
        // The patient client's evidence still opens its session, and the flooder's evidence does not open one
        // on another connection.
        _ = try await Self.openSession(patient, with: evidence)
        let foreign = await #expect(throws: RPCError.self) {
            _ = try await Self.openSession(patient, with: flooderEvidence)
        }
        #expect(foreign?.code == .failedPrecondition && foreign?.reason == RuntimeReason.unknownEvidence)
        await flooder.close()
        try await waitUntil { await runtime.core.sessionTableCounts().issuedEvidence == 0 }
        await patient.close()
        await runtime.shutdown()
    }
}
