import EnclavaTesting
import Foundation
import Testing

/// `enclava serve --backend sim --sim-format snp|tdx|sgx` → `enclava infer` on the demo model with the real
/// processes: each evidence format runs its hardware verifier path in the client, end to end.
@Suite(.serialized) struct SimFormatTests {
    let fixture = CLIFixture.shared

    /// A policy for `format` made with `enclava policy create --sim-format`.
    func policy(_ format: String) throws -> URL {
        let path = fixture.work.appendingPathComponent("policy-\(format)-\(UUID().uuidString.prefix(6)).json")
        try fixture.expectSuccess(["policy", "create", "--image", fixture.image.path, "--allow-simulation",
                                   "--sim-format", format, "--out", path.path])
        return path
    }

    /// Starts `enclava serve --sim-format FORMAT` on a free port and waits until it is ready.
    func startBridge(_ format: String) throws -> (TestProcess, Int) {
        let port = TestProcess.freeTCPPort()
        let serve = try fixture.startServe(["serve", "--image", fixture.image.path, "--backend", "sim", "--sim-format", format,
                                            "--listen", "127.0.0.1:\(port)"], port: port)
        return (serve, port)
    }

    func report(_ stdout: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    func expectGolden(_ report: [String: Any], _ golden: Golden) throws {
        let outputs = try #require(report["outputs"] as? [String: Any])
        let probabilities = try #require(outputs["probabilities"] as? [String: Any])
        #expect(probabilities["shape"] as? [Int] == golden.probabilitiesShape)
        let values = try #require(probabilities["data"] as? [NSNumber]).map(\.floatValue)
        try #require(values.count == golden.probabilities.count)
        for (got, want) in zip(values, golden.probabilities) { #expect(abs(got - want) <= 1e-5) }
    }

    @Test(arguments: [("snp", "sev-snp", 96), ("tdx", "tdx", 96), ("sgx", "sgx", 64)])
    func serveEachFormatAndInfer(_ format: String, _ platform: String, _ measurementHexCount: Int) throws {
        let golden = try Golden.load(fixture.root)
        let policy = try policy(format)
        let (serve, port) = try startBridge(format)
        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path,
                                     "--input", "features=\(golden.featuresJSON)", "--json"])
        // The same enclave, human-readable: the verified claims name the format and that it is simulated.
        let text = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", policy.path,
                                    "--input", "features=\(golden.featuresJSON)"])
        // A policy for another format refuses this evidence before anything is sent.
        let other = try self.policy(format == "tdx" ? "sgx" : "tdx")
        let refused = try fixture.run(["infer", "--endpoint", "127.0.0.1:\(port)", "--policy", other.path,
                                       "--input", "features=\(golden.featuresJSON)"])
        serve.signal(SIGTERM)
        let served = serve.wait(timeout: 30)
        #expect(served.status == 0, "serve did not shut down cleanly: \(served.stderr)")
        #expect(served.stdout.contains("(\(format) evidence)"), "the ready line (stdout): \(served.stdout)")

        #expect(infer.status == 0, "infer failed: \(infer.stderr)")
        let report = try report(infer.stdout)
        try expectGolden(report, golden)
        let enclave = try #require(report["enclave"] as? [String: Any])
        #expect(enclave["platform"] as? String == platform)
        #expect(enclave["simulated"] as? Bool == true)
        #expect((enclave["measurement"] as? String)?.count == measurementHexCount)

        #expect(text.status == 0, "infer failed: \(text.stderr)")
        #expect(text.stdout.contains("\(platform) (SIMULATED: no hardware protection)"), "\(text.stdout)")
        if format != "snp" {
            #expect(text.stdout.contains("Enclava simulated") && text.stdout.contains("FMSPC"))
            // The simulated collateral travels beside the quote (GetEvidenceResponse.collateral), so the
            // client evaluates a TCB status as it would for hardware.
            #expect(text.stdout.contains("UpToDate") && !text.stdout.contains("not evaluated"), "\(text.stdout)")
        }

        #expect(refused.status != 0)
        #expect(refused.stderr.contains("does not allow \(platform) evidence"), "\(refused.stderr)")
    }

    @Test func runAllInOneWithAnIntelFormat() throws {
        let golden = try Golden.load(fixture.root)
        let result = try fixture.run(["run", "--sim", "--sim-format", "sgx", "--image", fixture.image.path,
                                      "--input", "features=\(golden.featuresJSON)", "--json"])
        #expect(result.status == 0, "run failed: \(result.stderr)")
        let report = try report(result.stdout)
        try expectGolden(report, golden)
        let enclave = try #require(report["enclave"] as? [String: Any])
        #expect(enclave["platform"] as? String == "sgx" && enclave["simulated"] as? Bool == true)
    }

    /// `enclava sim quote` + `enclava verify-evidence --collateral`: the simulated collateral (TCB Info and
    /// QE Identity signed by the simulated TCB signing key, CRLs) runs the TCB evaluation too.
    @Test(arguments: ["tdx", "sgx"]) func simulatedCollateralGivesATCBStatus(_ format: String) throws {
        let quote = fixture.work.appendingPathComponent("quote-\(format)-\(UUID().uuidString.prefix(6)).bin")
        try fixture.expectSuccess(["sim", "quote", "--sim-format", format, "--out", quote.path])
        let collateral = fixture.home.appendingPathComponent("sim/intel/collateral-\(format).json").path
        let policy = try policy(format)
        let verified = try fixture.run(["verify-evidence", quote.path, "--platform", format, "--collateral", collateral,
                                        "--policy", policy.path])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(verified.stdout.contains("UpToDate") && verified.stdout.contains("VERIFIED"), "\(verified.stdout)")
        // The default policy is real hardware only.
        let refused = try fixture.run(["verify-evidence", quote.path, "--platform", format, "--collateral", collateral])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("SIMULATION_NOT_ALLOWED"), "\(refused.stderr)")
    }

    @Test func anUnknownFormatIsRefusedWithTheAcceptedOnes() throws {
        for arguments in [["serve", "--image", fixture.image.path, "--sim-format", "sev", "--listen", "127.0.0.1:1"],
                          ["policy", "create", "--image", fixture.image.path, "--allow-simulation", "--sim-format", "sev",
                           "--out", fixture.work.appendingPathComponent("never.json").path]] {
            let result = try fixture.run(arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains("snp, tdx, sgx"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.work.appendingPathComponent("never.json").path))
        let needsSimulation = try fixture.run(["policy", "create", "--image", fixture.image.path, "--sim-format", "tdx",
                                               "--out", fixture.work.appendingPathComponent("never.json").path])
        #expect(needsSimulation.status != 0 && needsSimulation.stderr.contains("--allow-simulation"))
    }
}
