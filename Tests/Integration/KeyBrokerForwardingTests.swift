import EnclavaCrypto
import EnclavaKeyBroker
import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// `enclava serve --key-broker HOST:PORT`: the bridge gives the enclave a Unix socket in its private folder and
/// forwards each connection on it to the broker, and only there.
@Suite("key broker forwarding", .serialized)
struct KeyBrokerForwardingTests {
    let broker = KeyBrokerFixture.shared
    var cli: CLIFixture { broker.cli }

    @Test("a release through the bridge's forwarding socket reaches the broker; one log line per connection")
    func forwardsToTheBroker() async throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (keybroker, brokerPort) = try broker.startBroker(store: folder.appendingPathComponent("store").path)
        defer { keybroker.signal(SIGKILL); _ = keybroker.wait() }
        let port = TestProcess.freeTCPPort()
        let serve = try cli.startServe(["serve", "--image", cli.image.path, "--listen", "127.0.0.1:\(port)",
                                        "--key-broker", "127.0.0.1:\(brokerPort)"], port: port)
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let log = serve.stderrSoFar
        // The runtime is told where the socket is, as unix:PATH inside the bridge's private folder.
        #expect(log.contains("--key-broker unix:"))
        let socket = try #require(log.firstMatch(of: /listen=unix:(\S+keybroker\.sock)/)?.1)
        let path = String(socket)
        #expect(path.hasSuffix("/keybroker.sock"))
        let platform = try broker.platform()
        let dek = try await KeyBrokerClient.requestDEK(from: .unix(path), manifestDigest: broker.manifestDigest,
                                                       imageName: "fraud-broker", backend: "sim") { try platform.evidence(reportData: $0) }
        #expect(dek == (try broker.expectedKey))
        // The connection's one line, once it ended.
        let deadline = Date().addingTimeInterval(10)
        while !serve.stderrSoFar.contains("key broker connection 1 to 127.0.0.1:\(brokerPort)") && Date() < deadline {
            usleep(50_000)
        }
        #expect(serve.stderrSoFar.contains("key broker connection 1 to 127.0.0.1:\(brokerPort): the enclave closed it"))
    }

    @Test("--key-broker takes HOST:PORT only")
    func badAddress() throws {
        for value in ["unix:/tmp/broker.sock", "nowhere", "127.0.0.1:0"] {
            let result = try cli.run(["serve", "--image", cli.image.path, "--listen", "127.0.0.1:0", "--key-broker", value])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--key-broker takes the broker's HOST:PORT"), "\(value): \(result.stderr)")
        }
    }
}
