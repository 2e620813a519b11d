import EnclavaAttestation
import EnclavaCrypto
import EnclavaKeyBroker
import EnclavaTesting
import EnclavaWire
import EnclavePlatform
import Foundation
import Testing

/// A real `enclava keybroker serve` process and the enclave's client (`KeyBrokerClient.requestDEK`) with the
/// simulated platform's evidence for the real `enclava-runtime` measurement.
@Suite("keybroker serve", .serialized)
struct KeyBrokerServeTests {
    let broker = KeyBrokerFixture.shared
    var cli: CLIFixture { broker.cli }

    @Test("an attested enclave receives its key; the audit line says what it proved; SIGTERM stops the broker cleanly")
    func release() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store)
        defer { if serve.process.isRunning { serve.signal(SIGKILL); _ = serve.wait() } }
        let platform = try broker.platform()
        let dek = try await broker.requestDEK(port: port, platform: platform)
        #expect(dek == (try broker.expectedKey))
        serve.signal(SIGTERM)
        let ended = serve.wait(timeout: 30)
        #expect(ended.status == 0)
        #expect(ended.stderr.contains("enclava keybroker: stopped"))
        let released = try #require(try broker.auditLog(store: store).last)
        #expect(released["decision"] as? String == "released")
        #expect(released["measurement"] as? String == Hex.encode(platform.measurement))
        #expect(released["platform"] as? String == "sev-snp+sim")
        #expect((released["peer"] as? String)?.contains("127.0.0.1") == true)
    }

    @Test("a rebuilt runtime (another measurement) never receives the key, and the audit log says why")
    func otherMeasurement() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store)
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let rebuilt = folder.appendingPathComponent("enclava-runtime-rebuilt")
        try Data(try Data(contentsOf: cli.runtime) + Data("rebuilt".utf8)).write(to: rebuilt)
        let platform = try SimPlatform(home: cli.home.path, executablePath: rebuilt.path)
        let error = try await #require(throws: KeyBrokerClientError.self) {
            try await broker.requestDEK(port: port, platform: platform)
        }
        #expect(error.code == .refused)
        let refused = try #require(try broker.auditLog(store: store).last)
        #expect(refused["decision"] as? String == "refused")
        #expect((refused["reason"] as? String)?.contains("MEASUREMENT_MISMATCH") == true)
        #expect(refused["measurement"] as? String == Hex.encode(platform.measurement))
    }

    @Test("Intel evidence without collateral is refused; with the collateral the enclave relays it is released")
    func intelCollateral() async throws {
        let folder = try broker.makeStore(addImage: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let tdxPolicy = folder.appendingPathComponent("tdx-policy.json")
        try cli.expectSuccess(["policy", "create", "--image", broker.image.path, "--allow-simulation", "--sim-format", "tdx",
                               "--out", tdxPolicy.path])
        try cli.expectSuccess(["keybroker", "add", "--store", store, "--image", broker.image.path,
                               "--owner-key", broker.ownerKey.path, "--policy", tdxPolicy.path])
        let (serve, port) = try broker.startBroker(store: store)
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let platform = try broker.platform(format: .tdx)
        let withholding = try await #require(throws: KeyBrokerClientError.self) {
            try await KeyBrokerClient.requestDEK(from: .tcp("127.0.0.1", port), manifestDigest: broker.manifestDigest,
                                                 imageName: "fraud-broker", backend: "sim") { reportData in
                var evidence = try platform.evidence(reportData: reportData)
                evidence.collateral = nil   // a host that withholds it
                return evidence
            }
        }
        #expect(withholding.code == .refused)
        #expect((try broker.auditLog(store: store).last?["reason"] as? String)?.contains("COLLATERAL_MISSING") == true)
        let dek = try await broker.requestDEK(port: port, platform: platform)
        #expect(dek == (try broker.expectedKey))
    }

    @Test("16 enclaves at once all receive the key, and each release has its audit line")
    func concurrentReleases() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store)
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let platform = try broker.platform()
        let expected = try broker.expectedKey
        let keys = try await withThrowingTaskGroup(of: SecureBytes.self) { group in
            for _ in 0..<16 { group.addTask { try await broker.requestDEK(port: port, platform: platform) } }
            return try await group.reduce(into: [SecureBytes]()) { $0.append($1) }
        }
        #expect(keys.count == 16)
        #expect(keys.allSatisfy { $0 == expected })
        #expect(try broker.auditLog(store: store).filter { $0["decision"] as? String == "released" }.count == 16)
    }

    @Test("clients that hang up mid-protocol or send garbage do not disturb one that completes")
    func disconnectsMidProtocol() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store)
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let platform = try broker.platform()
        for _ in 0..<4 {
            // Asks for a challenge, then leaves without answering it.
            let client = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
            _ = try await KeyBrokerClient.requestChallenge(using: client, manifestDigest: broker.manifestDigest,
                                                           imageName: "leaver", backend: "sim")
            await client.close()
            // Half a frame, then gone.
            do {
                let raw = try RawSocket(port: port)
                try raw.send([0, 0, 0, 200, 0, 0, 0, 1, 1])
            }   // closed here
        }
        // A client whose connection is held open mid-protocol while another completes.
        let holder = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        _ = try await KeyBrokerClient.requestChallenge(using: holder, manifestDigest: broker.manifestDigest,
                                                       imageName: "holder", backend: "sim")
        let dek = try await broker.requestDEK(port: port, platform: platform)
        #expect(dek == (try broker.expectedKey))
        await holder.close()
        #expect(serve.process.isRunning)
    }

    @Test("--max-connections bounds the broker: one more connection is closed at once, and served after one ends")
    func connectionCap() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store, extra: ["--max-connections", "1",
                                                                          "--max-connections-per-address", "1"])
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let platform = try broker.platform()
        let holder = try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))
        _ = try await KeyBrokerClient.requestChallenge(using: holder, manifestDigest: broker.manifestDigest,
                                                       imageName: "holder", backend: "sim")
        let refused = try await #require(throws: KeyBrokerClientError.self) {
            try await broker.requestDEK(port: port, platform: platform)
        }
        #expect(refused.code == .unreachable)
        await holder.close()
        var released: SecureBytes?
        for _ in 0..<50 where released == nil {   // the broker sees the close shortly after
            released = try? await broker.requestDEK(port: port, platform: platform)
            if released == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(released == (try broker.expectedKey))
        #expect(serve.stderrSoFar.contains("refused a connection: 1 are open"))
    }

    @Test("--max-connections-per-address: one address cannot take every slot")
    func perAddressCap() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store, extra: ["--max-connections", "8",
                                                                          "--max-connections-per-address", "2"])
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let platform = try broker.platform()
        let holders = [try await TTRPCClient.connect(to: .tcp("127.0.0.1", port)),
                       try await TTRPCClient.connect(to: .tcp("127.0.0.1", port))]
        for holder in holders {
            _ = try await KeyBrokerClient.requestChallenge(using: holder, manifestDigest: broker.manifestDigest,
                                                           imageName: "holder", backend: "sim")
        }
        let refused = try await #require(throws: KeyBrokerClientError.self) {
            try await broker.requestDEK(port: port, platform: platform)
        }
        #expect(refused.code == .unreachable)
        #expect(serve.stderrSoFar.contains("refused a connection: 2 are open from 127.0.0.1"))
        for holder in holders { await holder.close() }
        let bad = try cli.run(["keybroker", "serve", "--store", store, "--listen", "127.0.0.1:0",
                               "--max-connections", "4", "--max-connections-per-address", "5"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--max-connections-per-address must be 1…4"))
    }

    @Test("a connection that only holds its slot is closed after --idle-timeout")
    func idleConnectionsAreClosed() throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (serve, port) = try broker.startBroker(store: folder.appendingPathComponent("store").path,
                                                   extra: ["--idle-timeout", "1"])
        defer { serve.signal(SIGKILL); _ = serve.wait() }
        let idle = try RawSocket(port: port)
        #expect(idle.waitForClose(timeout: 30))
        // The log line is written before the close, but reaches the pipe reader a moment later.
        let logged = Date().addingTimeInterval(10)
        while !serve.stderrSoFar.contains("closing an idle connection") && Date() < logged { usleep(20_000) }
        #expect(serve.stderrSoFar.contains("closing an idle connection"))
    }

    @Test("kill -9 mid-release, then restart: every answered release has its audit line and the key still releases")
    func killNineMidRelease() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let (serve, port) = try broker.startBroker(store: store)
        let platform = try broker.platform()
        let expected = try broker.expectedKey
        // 8 enclaves each asking in a loop; the broker is killed while they are at it.
        let received = ReleaseCounter()
        let killer = Task.detached {
            let deadline = Date().addingTimeInterval(60)
            while received.value < 6 && Date() < deadline { try? await Task.sleep(for: .milliseconds(5)) }
            serve.signal(SIGKILL)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<25 {
                        guard let dek = try? await broker.requestDEK(port: port, platform: platform) else { return }
                        if dek == expected { received.increment() }
                    }
                }
            }
        }
        _ = await killer.value
        let killed = serve.wait(timeout: 30)
        #expect(killed.status != 0)
        let answered = received.value
        #expect(answered >= 6)
        // The store opens after the crash; no answered release lacks its line.
        let audited = try broker.auditLog(store: store).filter { $0["decision"] as? String == "released" }.count
        #expect(audited >= answered, "\(answered) releases were answered but only \(audited) are in the audit log")
        let (restarted, newPort) = try broker.startBroker(store: store)
        defer { restarted.signal(SIGKILL); _ = restarted.wait() }
        #expect(try await broker.requestDEK(port: newPort, platform: platform) == expected)
    }
}

/// A count shared by concurrent tasks.
final class ReleaseCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() { lock.lock(); count += 1; lock.unlock() }
}
