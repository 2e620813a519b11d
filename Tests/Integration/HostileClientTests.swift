import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// What a hostile client of a real `enclava serve` (and of a real `enclava-runtime`) can do to the enclave
/// and to other clients (DESIGN.md §2): it cannot stop the enclave, and its sessions and evidence are its own.
@Suite(.serialized) struct HostileClientTests {
    let fixture = CLIFixture.shared

    func inferSucceeds(_ endpoint: String) throws -> Bool {
        let golden = try Golden.load(fixture.root)
        let infer = try fixture.run(["infer", "--endpoint", endpoint, "--policy", fixture.policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(infer.status == 0, "a well-behaved client was affected: \(infer.stderr)")
        return infer.status == 0
    }

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

    @Test func aClientShutdownIsRefusedAndTheEnclaveKeepsServing() async throws {
        let (serve, port) = try EndToEndTests().startBridge()
        var stopped = false
        defer { if !stopped { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) } }
        let client = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        // Repeated, as an attacker would, to keep the service down through the restart backoff.
        for _ in 0..<20 {
            let refused = await #expect(throws: RPCError.self) {
                _ = try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
            }
            #expect(refused?.code == .permissionDenied && refused?.reason == "HOST_ONLY_METHOD")
        }
        let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        #expect(health.state == .ready)
        await client.close()
        #expect(try inferSucceeds("127.0.0.1:\(port)"))
        #expect(serve.process.isRunning)
        #expect(!serve.stderrSoFar.contains("restarting"), "the enclave restarted: \(serve.stderrSoFar)")
        // The bridge's own Shutdown, on its private control link, is what stops the enclave.
        serve.signal(SIGTERM)
        let result = serve.wait(timeout: 30)
        stopped = true
        #expect(result.status == 0)
        #expect(result.stderr.contains("the enclave acknowledged Shutdown"), "\(result.stderr)")
    }

    /// The runtime enforces it itself, whatever relays to it: Shutdown on its client socket is refused, on its
    /// control socket it stops the runtime.
    @Test func theRuntimeAcceptsShutdownOnlyOnItsControlSocket() async throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-ctl")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("enclave.sock").path
        let control = folder.appendingPathComponent("control.sock").path
        let runtime = TestProcess(fixture.runtime, ["--backend", "sim", "--listen", "unix:\(socket)", "--control", "unix:\(control)",
                                                    "--image", fixture.image.path, "--sim-home", fixture.home.path],
                                  environment: fixture.environment)
        try runtime.start()
        defer { if runtime.process.isRunning { runtime.signal(SIGKILL) }; _ = runtime.wait(timeout: 30) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && ((try? RawSocket(unixPath: control)) == nil || (try? RawSocket(unixPath: socket)) == nil) {
            try #require(runtime.process.isRunning, "runtime exited: \(runtime.stderrSoFar)")
            usleep(100_000)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: control)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the control socket is not owner-only")
        let client = try await TTRPCClient.connect(to: .unix(socket))
        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        }
        #expect(refused?.code == .permissionDenied && refused?.reason == "HOST_ONLY_METHOD")
        await client.close()
        #expect(runtime.process.isRunning)
        #expect(try inferSucceeds("unix:\(socket)"))

        let host = try await TTRPCClient.connect(to: .unix(control))
        _ = try await host.call(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        await host.close()
        let stopped = runtime.wait(timeout: 30)
        #expect(stopped.status == 0, "the runtime did not stop cleanly: \(stopped.stderr)")
    }

    @Test func sessionsPastTheQuotaAreRefusedWhileAnotherClientIsServed() async throws {
        let (serve, port) = try EndToEndTests().startBridge()
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let greedy = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        for _ in 0..<4 { _ = try await Self.openSession(greedy, with: try await Self.getEvidence(greedy)) }
        let refused = await #expect(throws: RPCError.self) {
            _ = try await Self.openSession(greedy, with: try await Self.getEvidence(greedy))
        }
        #expect(refused?.code == .resourceExhausted && refused?.reason == "SESSION_QUOTA_EXCEEDED")
        #expect(try inferSucceeds("127.0.0.1:\(port)"))
        await greedy.close()
    }

    @Test func aGetEvidenceFloodDoesNotInvalidateAnotherClientsEvidence() async throws {
        let (serve, port) = try EndToEndTests().startBridge()
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let patient = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        let evidence = try await Self.getEvidence(patient)
        let flooder = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        var outcomes: [String: Int] = [:]
        for _ in 0..<300 {
            do {
                _ = try await Self.getEvidence(flooder)
                outcomes["OK", default: 0] += 1
            } catch let error as RPCError {
                outcomes["\(error.code.name) \(error.reason)", default: 0] += 1
            }
        }
        #expect(outcomes == ["OK": 4, "RESOURCE_EXHAUSTED EVIDENCE_QUOTA_EXCEEDED": 296])
        let session = try await Self.openSession(patient, with: evidence)
        #expect(session.count == 16)
        await flooder.close()
        await patient.close()
    }
}
