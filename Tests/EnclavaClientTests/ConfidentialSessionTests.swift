import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaWire
import Foundation
import SwiftProtobuf
import Testing

/// A transport that answers GetEvidence with a canned response and records what it was asked.
actor CannedTransport: EnclaveTransport {
    let evidence: Enclava_V1_GetEvidenceResponse
    private(set) var methods: [EnclaveService.Method] = []

    init(evidence: Enclava_V1_GetEvidenceResponse) { self.evidence = evidence }

    nonisolated func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: EnclaveService.Method, _ request: Request, as: Response.Type, timeout: Duration
    ) async throws -> Response {
        await record(method)
        guard method == .getEvidence, let answer = evidence as? Response else {
            throw RPCError(.unimplemented, reason: "TEST", message: "not in this test")
        }
        return answer
    }

    func record(_ method: EnclaveService.Method) { methods.append(method) }

    nonisolated func close() async {}
}

@Suite struct ConfidentialSessionTests {
    let policy = AttestationPolicy(allowedPlatforms: [.sevSNP], allowSimulation: true, allowDebug: false,
                                   expectedMeasurements: [], expectedManifestDigests: [], simulatedRootFingerprints: [])

    @Test func garbageEvidenceNeverOpensASession() async throws {
        var answer = Enclava_V1_GetEvidenceResponse()
        answer.format = .sevSnp
        answer.evidence = Data(repeating: 0, count: 100)
        answer.hpkePublicKey = Data(X25519PrivateKey().publicKey)
        answer.manifestDigest = Data(count: 48)
        let transport = CannedTransport(evidence: answer)
        do {
            _ = try await ConfidentialSession.connect(using: transport, policy: policy)
            Issue.record("a session was opened on garbage evidence")
        } catch let error as ClientError {
            #expect(error.code == .attestationFailed)
            #expect(error.attestationError != nil)
        }
        #expect(await transport.methods == [.getEvidence])
    }

    @Test func anUnknownEvidenceFormatIsRefused() async throws {
        var answer = Enclava_V1_GetEvidenceResponse()
        answer.format = .unspecified
        let transport = CannedTransport(evidence: answer)
        await #expect(throws: ClientError.self) {
            _ = try await ConfidentialSession.connect(using: transport, policy: policy)
        }
        #expect(await transport.methods == [.getEvidence])
    }

    @Test func remoteErrorsKeepTheirReason() {
        let error = ClientError.remote(RPCError(.failedPrecondition, reason: "SEQUENCE_OUT_OF_ORDER", message: "m"))
        #expect(error.code == .remote)
        #expect(error.remoteReason == "SEQUENCE_OUT_OF_ORDER")
        #expect(error.rpcError?.code == .failedPrecondition)
    }
}
