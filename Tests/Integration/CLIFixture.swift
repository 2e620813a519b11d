import EnclavaTesting
import Foundation
import Testing

/// One simulated platform, signing key and packaged demo image, made once with the real `enclava` CLI
/// and shared by the integration tests (RSA-4096 generation for the simulated ARK takes seconds).
final class CLIFixture: Sendable {
    static let shared: CLIFixture = {
        do { return try CLIFixture() } catch { fatalError("integration fixture failed: \(error)") }
    }()

    let work: URL
    let home: URL
    let signer: URL
    let image: URL
    let policy: URL
    let bin: URL
    let root: URL
    let demoDir: URL

    var enclava: URL { bin.appendingPathComponent("enclava") }
    var runtime: URL { bin.appendingPathComponent("enclava-runtime") }
    var environment: [String: String] { ["ENCLAVA_HOME": home.path] }

    private init() throws {
        root = TestPaths.packageRoot()
        bin = TestPaths.binDirectory
        demoDir = root.appendingPathComponent("Manifests/fraud-detector")
        work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-integration")
        home = work.appendingPathComponent("home")
        signer = work.appendingPathComponent("signer.pem")
        image = work.appendingPathComponent("fraud.eimg")
        policy = work.appendingPathComponent("policy.json")
        try expectSuccess(["sim", "init"])
        try expectSuccess(["keygen", "--out", signer.path])
        try expectSuccess(["package", "--manifest", demoDir.appendingPathComponent("manifest.toml").path,
                           "--signer", signer.path, "--out", image.path, "--seal-for", "sim"])
        try expectSuccess(["policy", "create", "--image", image.path, "--allow-simulation", "--out", policy.path])
    }

    /// Runs `enclava ARGS…` with this fixture's ENCLAVA_HOME.
    func run(_ arguments: [String], timeout: TimeInterval = 120) throws -> TestProcess.Result {
        try TestProcess.run(enclava, arguments, environment: environment, timeout: timeout)
    }

    /// Starts an `enclava serve` command line (`arguments`, listening on `port`; `executable` when it is wrapped,
    /// e.g. by prlimit) and returns once its ready line is on stdout and the port accepts connections.
    func startServe(_ arguments: [String], port: Int, executable: URL? = nil, timeout: TimeInterval = 60) throws -> TestProcess {
        let serve = TestProcess(executable ?? enclava, arguments, environment: environment)
        try serve.start()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if serve.stdoutSoFar.contains("enclava serve: ready on") && RawSocket.canConnect(port: port) { return serve }
            if !serve.process.isRunning {
                throw FixtureError("enclava serve exited early: \(serve.wait().stderr)")
            }
            usleep(100_000)
        }
        serve.signal(SIGKILL)
        throw FixtureError("enclava serve did not become ready within \(Int(timeout)) s: \(serve.stderrSoFar)")
    }

    @discardableResult
    func expectSuccess(_ arguments: [String]) throws -> TestProcess.Result {
        let result = try run(arguments)
        guard result.status == 0 else {
            throw FixtureError("enclava \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result
    }

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The demo model's golden case (inputs and onnxruntime outputs), from Manifests/fraud-detector/golden.json.
struct Golden {
    /// The `features` input as `{"dtype","shape","data"}` JSON text, ready for `--input features=…`.
    let featuresJSON: String
    let features: [Float]
    let probabilities: [Float]
    let probabilitiesShape: [Int]

    static func load(_ root: URL) throws -> Golden {
        let data = try Data(contentsOf: root.appendingPathComponent("Manifests/fraud-detector/golden.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let inputs = try #require(object["inputs"] as? [String: Any])
        let outputs = try #require(object["outputs"] as? [String: Any])
        let features = try #require(inputs["features"] as? [String: Any])
        let probabilities = try #require(outputs["probabilities"] as? [String: Any])
        let featuresJSON = String(decoding: try JSONSerialization.data(withJSONObject: features), as: UTF8.self)
        return Golden(
            featuresJSON: featuresJSON,
            features: try #require(features["data"] as? [NSNumber]).map(\.floatValue),
            probabilities: try #require(probabilities["data"] as? [NSNumber]).map(\.floatValue),
            probabilitiesShape: try #require(probabilities["shape"] as? [Int]))
    }
}
