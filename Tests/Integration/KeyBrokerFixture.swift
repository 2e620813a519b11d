import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclavaKeyBroker
import EnclavaTesting
import EnclavaWire
import EnclavePlatform
import Foundation
import Testing

/// A `release = "broker"` image of the demo model packaged with the real CLI (`--owner-key-out`), its policy from
/// `enclava policy create`, and helpers to run `enclava keybroker …` and to ask for the key as the enclave does, with
/// the simulated platform's evidence for the real `enclava-runtime` measurement (the one the policy pins).
final class KeyBrokerFixture: Sendable {
    static let shared: KeyBrokerFixture = {
        do { return try KeyBrokerFixture() } catch { fatalError("key broker fixture failed: \(error)") }
    }()

    let cli = CLIFixture.shared
    let work: URL
    let image: URL
    let ownerKey: URL
    let policy: URL
    let manifestDigest: [UInt8]

    private init() throws {
        work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-keybroker-it")
        let model = work.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: cli.demoDir.appendingPathComponent("model.onnx"),
                                         to: model.appendingPathComponent("model.onnx"))
        let manifest = try String(contentsOf: cli.demoDir.appendingPathComponent("manifest.toml"), encoding: .utf8)
            .replacingOccurrences(of: "release = \"sealed\"", with: "release = \"broker\"")
            .replacingOccurrences(of: "name = \"fraud-detector\"", with: "name = \"fraud-broker\"")
        try Data(manifest.utf8).write(to: model.appendingPathComponent("manifest.toml"))
        image = work.appendingPathComponent("fraud-broker.eimg")
        ownerKey = work.appendingPathComponent("fraud-broker.key")
        policy = work.appendingPathComponent("fraud-broker-policy.json")
        try cli.expectSuccess(["package", "--manifest", model.appendingPathComponent("manifest.toml").path,
                               "--signer", cli.signer.path, "--out", image.path, "--owner-key-out", ownerKey.path])
        try cli.expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
        manifestDigest = try EnclaveImage.open(path: image.path).manifestDigest
    }

    /// A fresh store holding the image (the caller removes the returned folder).
    func makeStore(addImage: Bool = true) throws -> URL {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-keybroker-store")
        let store = folder.appendingPathComponent("store").path
        try cli.expectSuccess(["keybroker", "init", "--store", store])
        if addImage {
            try cli.expectSuccess(["keybroker", "add", "--store", store, "--image", image.path, "--owner-key", ownerKey.path,
                                   "--policy", policy.path])
        }
        return folder
    }

    /// Starts `enclava keybroker serve` on a free port and returns once its ready line is out.
    func startBroker(store: String, port: Int? = nil, extra: [String] = []) throws -> (TestProcess, Int) {
        let port = port ?? TestProcess.freeTCPPort()
        let serve = TestProcess(cli.enclava, ["keybroker", "serve", "--store", store, "--listen", "127.0.0.1:\(port)"] + extra,
                                environment: cli.environment)
        try serve.start()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if serve.stdoutSoFar.contains("enclava keybroker: ready on") && RawSocket.canConnect(port: port) { return (serve, port) }
            if !serve.process.isRunning { throw CLIFixture.FixtureError("keybroker serve exited early: \(serve.wait().stderr)") }
            usleep(50_000)
        }
        serve.signal(SIGKILL)
        throw CLIFixture.FixtureError("keybroker serve did not become ready: \(serve.stderrSoFar)")
    }

    /// The simulated platform of the real `enclava-runtime` (the measurement the policy pins).
    func platform(format: SimulatedPlatform.EvidenceFormat = .snp) throws -> SimPlatform {
        try SimPlatform(home: cli.home.path, format: format, executablePath: cli.runtime.path)
    }

    /// Asks for the key as the enclave does.
    func requestDEK(port: Int, platform: SimPlatform) async throws -> SecureBytes {
        try await KeyBrokerClient.requestDEK(from: .tcp("127.0.0.1", port), manifestDigest: manifestDigest,
                                             imageName: "fraud-broker", backend: "sim") { try platform.evidence(reportData: $0) }
    }

    /// The audit log as `keybroker log --json` prints it.
    func auditLog(store: String) throws -> [[String: Any]] {
        let result = try cli.expectSuccess(["keybroker", "log", "--store", store, "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    /// The owner key as written by `enclava package`.
    var expectedKey: SecureBytes { get throws { try OwnerKeyFile.load(path: ownerKey.path) } }
}
