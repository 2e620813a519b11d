import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import EnclavePlatform
import Foundation
import Testing

/// `release = "broker"` end to end with the real processes (DESIGN.md §7): `enclava keybroker serve` holds the key,
/// `enclava serve --key-broker HOST:PORT` forwards the enclave's own connection to it, and the runtime runs request →
/// challenge → attestation → response itself, then keeps the key as sealed state.
@Suite(.serialized) struct KeyBrokerReleaseCLITests {
    let broker = KeyBrokerFixture.shared
    var cli: CLIFixture { broker.cli }

    /// `enclava serve` of the broker image, its enclave reaching the broker at `brokerPort`.
    func startServe(brokerPort: Int, stateDir: URL? = nil, runtime: URL? = nil, recordTraffic: URL? = nil) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        var arguments = ["serve", "--image", broker.image.path, "--backend", "sim", "--listen", "127.0.0.1:\(port)",
                         "--key-broker", "127.0.0.1:\(brokerPort)"]
        if let stateDir { arguments += ["--state-dir", stateDir.path] }
        if let runtime { arguments += ["--runtime", runtime.path] }
        if let recordTraffic { arguments += ["--record-traffic", recordTraffic.path] }
        return (try cli.startServe(arguments, port: port), port)
    }

    /// The enclave's Health state, asked over the bridge.
    func health(port: Int) async throws -> Enclava_V1_HealthResponse.State {
        try await healthAnswer(port: port).state
    }

    /// The enclave's Health answer, asked over the bridge.
    func healthAnswer(port: Int) async throws -> Enclava_V1_HealthResponse {
        let client = try await TTRPCClient.connect(to: .tcp(host: "127.0.0.1", port: port))
        do {
            let answer = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self,
                                               timeout: .seconds(10))
            await client.close()
            return answer
        } catch {
            await client.close()
            throw error
        }
    }

    /// Polls Health until it says `state` (at most 60 s: a bound, not a timing assertion).
    func waitFor(_ state: Enclava_V1_HealthResponse.State, port: Int, serve: TestProcess) async throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if try await health(port: port) == state { return }
            try #require(serve.process.isRunning, "serve exited: \(serve.stderrSoFar)")
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("Health never said \(state): \(serve.stderrSoFar)")
    }

    func infer(port: Int) throws -> TestProcess.Result {
        let golden = try Golden.load(cli.root)
        return try cli.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", broker.policy.path,
                            "--input", "features=\(golden.featuresJSON)", "--json"])
    }

    @Test func theBrokerReleasesTheKeyAndARestartWithTheBrokerStoppedIsReadyFromSealedState() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let stateDir = folder.appendingPathComponent("state")
        let (keybroker, brokerPort) = try broker.startBroker(store: store)
        defer { if keybroker.process.isRunning { keybroker.signal(SIGKILL); _ = keybroker.wait() } }

        let traffic = folder.appendingPathComponent("traffic.bin")
        let (first, port) = try startServe(brokerPort: brokerPort, stateDir: stateDir, recordTraffic: traffic)
        try await waitFor(.ready, port: port, serve: first)
        let inferred = try infer(port: port)
        #expect(inferred.status == 0 && inferred.stdout.contains("\"probabilities\""), "\(inferred.stderr)")
        // The owner cannot provision a broker image: its key is released another way.
        let provisioned = try cli.run(["provision", "--endpoint", "127.0.0.1:\(port)", "--policy", broker.policy.path,
                                       "--owner-key", broker.ownerKey.path])
        #expect(provisioned.status != 0 && provisioned.stderr.contains("NOT_WAITING_FOR_KEY"), "\(provisioned.stderr)")
        first.signal(SIGTERM)
        let firstRun = first.wait(timeout: 30)
        #expect(firstRun.status == 0)
        #expect(firstRun.stderr.contains("the key broker released the model key"), "\(firstRun.stderr)")
        #expect(firstRun.stderr.contains("sealed state saved"), "\(firstRun.stderr)")
        // The release crossed the host (the bridge's forwarding), recorded both ways; no byte of the key did.
        let toBroker = try TrafficFile.streams(traffic, direction: .enclaveToBroker).values.reduce([], +)
        let toEnclave = try TrafficFile.streams(traffic, direction: .brokerToEnclave).values.reduce([], +)
        #expect(ByteSearch.contains(toBroker, Array("RequestKey".utf8)), "the recording misses the enclave's request")
        #expect(!toEnclave.isEmpty)
        let dek = Array([UInt8](try Data(contentsOf: broker.ownerKey))[8...])
        #expect(!ByteSearch.contains([UInt8](try Data(contentsOf: traffic)), dek))

        let log = try broker.auditLog(store: store)
        let released = log.filter { $0["decision"] as? String == "released" }
        #expect(released.count == 1, "\(log)")
        let platform = try broker.platform()
        #expect(released.first?["measurement"] as? String == Hex.encode(platform.measurement))

        // The broker is stopped; the restarted enclave needs nobody.
        keybroker.signal(SIGTERM)
        #expect(keybroker.wait(timeout: 30).status == 0)
        let (second, secondPort) = try startServe(brokerPort: brokerPort, stateDir: stateDir)
        defer { if second.process.isRunning { second.signal(SIGKILL); _ = second.wait(timeout: 30) } }
        #expect(try await health(port: secondPort) == .ready)
        #expect(second.stderrSoFar.contains("sealed state opened: starting without a key release"), "\(second.stderrSoFar)")
        #expect(try infer(port: secondPort).status == 0)
        second.signal(SIGTERM)
        let secondRun = second.wait(timeout: 30)
        #expect(!secondRun.stderr.contains("KEY_BROKER_UNREACHABLE"), "the restart asked the broker: \(secondRun.stderr)")
        #expect(try broker.auditLog(store: store).count == log.count)
    }

    /// Issue 11: an enclave launched elsewhere (behind a Firecracker-style VMM) dials host port 1025 for its broker;
    /// the VMM delivers that on `UDS_PATH_1025`, where `serve --enclave hvsock:… --key-broker` forwards it to the one
    /// broker address, recorded, with no key byte in the recording.
    @Test func anAttachedEnclaveReachesItsBrokerThroughTheVMMsHostPort() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (keybroker, brokerPort) = try broker.startBroker(store: store)
        defer { if keybroker.process.isRunning { keybroker.signal(SIGKILL); _ = keybroker.wait() } }
        let muxer = try FakeHybridVsockMuxer(path: folder.appendingPathComponent("vmm.sock").path)
        defer { muxer.stop() }
        let guestSocket = folder.appendingPathComponent("guest-1024").path
        let guestDial = folder.appendingPathComponent("guest-dials-host-1025").path
        muxer.listen(port: 1024, unixPath: guestSocket)
        try muxer.dialHost(port: 1025, fromGuestSocket: guestDial)
        // The "guest": its runtime dials the host's port 1025 for the broker (vsock:2:1025 in a real VM).
        let runtime = TestProcess(cli.runtime, ["--backend", "sim", "--listen", "unix:\(guestSocket)", "--image", broker.image.path,
                                                "--sim-home", cli.home.path, "--key-broker", "unix:\(guestDial)"],
                                  environment: cli.environment)
        try runtime.start()
        defer { if runtime.process.isRunning { runtime.signal(SIGKILL); _ = runtime.wait(timeout: 30) } }

        let port = TestProcess.freeTCPPort()
        let traffic = folder.appendingPathComponent("traffic.bin")
        let serve = try cli.startServe(["serve", "--enclave", "hvsock:\(muxer.path):1024", "--image", broker.image.path,
                                        "--listen", "127.0.0.1:\(port)", "--key-broker", "127.0.0.1:\(brokerPort)",
                                        "--record-traffic", traffic.path], port: port)
        defer { if serve.process.isRunning { serve.signal(SIGKILL); _ = serve.wait(timeout: 30) } }
        try await waitFor(.ready, port: port, serve: serve)
        let inferred = try infer(port: port)
        #expect(inferred.status == 0 && inferred.stdout.contains("\"probabilities\""), "\(inferred.stderr)")
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.stderr.contains("key broker connection 1 to 127.0.0.1:\(brokerPort)"), "\(served.stderr)")
        #expect(served.stderr.contains("\(muxer.path)_1025"), "\(served.stderr)")
        #expect(try broker.auditLog(store: store).filter { $0["decision"] as? String == "released" }.count == 1)
        let toBroker = try TrafficFile.streams(traffic, direction: .enclaveToBroker).values.reduce([], +)
        #expect(ByteSearch.contains(toBroker, Array("RequestKey".utf8)))
        let dek = Array([UInt8](try Data(contentsOf: broker.ownerKey))[8...])
        #expect(!ByteSearch.contains([UInt8](try Data(contentsOf: traffic)), dek))
    }

    /// A broker image with no broker to ask is refused before anything is launched.
    @Test func serveRefusesABrokerImageWithoutKeyBroker() throws {
        let result = try cli.run(["serve", "--image", broker.image.path, "--backend", "sim",
                                  "--listen", "127.0.0.1:\(TestProcess.freeTCPPort())"], timeout: 60)
        #expect(result.status != 0 && result.stderr.contains("--key-broker HOST:PORT"), "\(result.stderr)")
        #expect(!result.stdout.contains("ready on"))
    }

    /// The broker is not up yet when the enclave starts: it waits (Health waiting-for-key), says the broker is
    /// unreachable once, keeps asking, and is ready once the broker comes up.
    @Test func theEnclaveKeepsAskingUntilTheBrokerIsUp() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let brokerPort = TestProcess.freeTCPPort()
        let (serve, port) = try startServe(brokerPort: brokerPort)
        defer { if serve.process.isRunning { serve.signal(SIGKILL); _ = serve.wait(timeout: 30) } }
        let waiting = try await healthAnswer(port: port)
        #expect(waiting.state == .waitingForKey && waiting.message.contains("asks its key broker"), "\(waiting.message)")
        let early = try infer(port: port)
        #expect(early.status != 0 && early.stdout.contains("WAITING_FOR_KEY"), "\(early.stdout) \(early.stderr)")
        #expect(early.stdout.contains("asks its key broker for"), "\(early.stdout)")

        let (keybroker, _) = try broker.startBroker(store: store, port: brokerPort)
        defer { keybroker.signal(SIGKILL); _ = keybroker.wait() }
        try await waitFor(.ready, port: port, serve: serve)
        #expect(try infer(port: port).status == 0)
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.stderr.contains("it asks the key broker at 127.0.0.1:\(brokerPort)"), "\(served.stderr)")
        let lines = served.stderr.split(separator: "\n").filter { $0.contains("no model key from the key broker yet") }
        #expect(lines.count == 1 && lines.first?.contains("KEY_BROKER_UNREACHABLE") == true,
                "one line for the unreachable broker, however many retries: \(served.stderr)")
    }

    /// A rebuilt runtime (a copy with a byte appended: another measurement) asks and is refused; it never gets the
    /// key, the audit log names the failed check, and the enclave only learns that it was refused.
    @Test func aRuntimeWithAnotherMeasurementNeverReceivesTheKey() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (keybroker, brokerPort) = try broker.startBroker(store: store)
        defer { keybroker.signal(SIGKILL); _ = keybroker.wait() }
        let rebuilt = folder.appendingPathComponent("enclava-runtime")
        try (try Data(contentsOf: cli.runtime) + Data([0])).write(to: rebuilt)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rebuilt.path)
        let measurement = Hex.encode(try SimPlatform(home: cli.home.path, executablePath: rebuilt.path).measurement)

        let (serve, port) = try startServe(brokerPort: brokerPort, runtime: rebuilt)
        defer { if serve.process.isRunning { serve.signal(SIGKILL); _ = serve.wait(timeout: 30) } }
        let deadline = Date().addingTimeInterval(60)
        var refusals: [[String: Any]] = []
        while refusals.isEmpty && Date() < deadline {
            refusals = try broker.auditLog(store: store).filter { $0["measurement"] as? String == measurement }
            if refusals.isEmpty { usleep(100_000) }
        }
        let refusal = try #require(refusals.first, "the rebuilt runtime never asked: \(serve.stderrSoFar)")
        #expect(refusal["decision"] as? String == "refused")
        #expect((refusal["reason"] as? String)?.contains("MEASUREMENT_MISMATCH") == true, "\(refusal)")
        #expect(try await health(port: port) == .waitingForKey)
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.stderr.contains("KEY_RELEASE_REFUSED"), "\(served.stderr)")
        #expect(!served.stderr.contains("MEASUREMENT_MISMATCH"), "the refusal's reason reached the enclave: \(served.stderr)")
        #expect(try broker.auditLog(store: store).allSatisfy { $0["decision"] as? String != "released" })
    }
}
