import EnclavaTesting
import Foundation
import Testing

/// What an operator types first: versions, re-running `sim init`, replacing an image on purpose.
@Suite(.serialized) struct CLIBasicsTests {
    let fixture = CLIFixture.shared

    @Test(arguments: [["version"], ["--version"]])
    func bothBinariesReportOneVersionWithoutOtherArguments(_ arguments: [String]) throws {
        let cli = try fixture.run(arguments)
        #expect(cli.status == 0 && cli.stdout.hasPrefix("enclava 0."), "\(cli.stdout)\(cli.stderr)")
        let runtime = try TestProcess.run(fixture.runtime, arguments)
        #expect(runtime.status == 0 && runtime.stdout.hasPrefix("enclava-runtime 0."), "\(runtime.stdout)\(runtime.stderr)")
        #expect(cli.stdout.split(separator: " ").last == runtime.stdout.split(separator: " ").last)
    }

    @Test func simInitTwiceSucceedsAndChangesNothing() throws {
        let ark = try Data(contentsOf: fixture.home.appendingPathComponent("sim/ark.pem"))
        let again = try fixture.run(["sim", "init"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already initialised"), "\(again.stdout)")
        #expect(try Data(contentsOf: fixture.home.appendingPathComponent("sim/ark.pem")) == ark)
    }

    @Test func packageReplacesAnImageOnlyWithForce() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-force")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("fraud.eimg")
        let arguments = ["package", "--manifest", fixture.demoDir.appendingPathComponent("manifest.toml").path,
                         "--signer", fixture.signer.path, "--out", out.path, "--seal-for", "sim", "--quiet"]
        try fixture.expectSuccess(arguments)
        let first = try Data(contentsOf: out)
        let refused = try fixture.run(arguments)
        #expect(refused.status != 0 && refused.stderr.contains("already exists"), "\(refused.stderr)")
        #expect(try Data(contentsOf: out) == first)
        try fixture.expectSuccess(arguments + ["--force"])
        #expect(try Data(contentsOf: out) != first, "a new DEK makes a new image")
    }
}

/// A model output holding NaN or infinities is printed unambiguously and with a warning (issue 9).
@Suite struct NonFiniteOutputTests {
    let fixture = CLIFixture.shared

    @Test func nonFiniteOutputsArePrintedAsWordsWithAWarning() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-nonfinite")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(CraftedOnnx.model(nodes: [.init("Log", ["x"], ["y"])])).write(to: folder.appendingPathComponent("model.onnx"))
        try "[image]\nname = \"log\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n"
            .write(to: folder.appendingPathComponent("manifest.toml"), atomically: true, encoding: .utf8)
        let image = folder.appendingPathComponent("log.eimg")
        try fixture.expectSuccess(["package", "--manifest", folder.appendingPathComponent("manifest.toml").path, "--signer",
                                   fixture.signer.path, "--out", image.path, "--seal-for", "sim", "--quiet"])
        let result = try fixture.run(["run", "--sim", "--image", image.path, "--input", "x=[[0, -1, 1, 2]]", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""data": ["-Infinity", "NaN", 0.0, 0.6931472]"#), "\(result.stdout)")
        #expect(result.stderr.contains("warning: output y holds 2 NaN or infinite value(s)"), "\(result.stderr)")
    }
}

/// `--json` turns failures into JSON too (issue 9): one object on stdout with the stable code, non-zero exit.
@Suite struct CLIJSONErrorTests {
    let fixture = CLIFixture.shared

    @Test(arguments: [
        (["inspect", "/nonexistent/x.eimg", "--json"], "INVALID_INPUT", nil as String?),
        (["verify-evidence", "/nonexistent/q.bin", "--platform", "tdx", "--json"], "INVALID_INPUT", nil),
        (["infer", "--endpoint", "127.0.0.1:1", "--policy", "{POLICY}", "--input", "features=[[1,2,3,4,5,6,7,8]]", "--json"],
         "UNAVAILABLE", "CONNECT_FAILED"),
        (["inspect", "--json"], "USAGE", nil),
        (["inspect", "{CORRUPT}", "--json"], "SIGNATURE_INVALID", nil),
    ])
    func failuresArePrintedAsJSON(_ arguments: [String], _ code: String, _ reason: String?) throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-json-error")
        defer { try? FileManager.default.removeItem(at: folder) }
        var image = [UInt8](try Data(contentsOf: fixture.image))
        image[40] ^= 1
        let corrupt = folder.appendingPathComponent("corrupt.eimg")
        try Data(image).write(to: corrupt)
        let result = try fixture.run(arguments.map {
            $0.replacingOccurrences(of: "{POLICY}", with: fixture.policy.path).replacingOccurrences(of: "{CORRUPT}", with: corrupt.path)
        })
        #expect(result.status != 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let error = try #require(object?["error"] as? [String: Any], "stdout is not a JSON error: \(result.stdout)")
        #expect(error["code"] as? String == code, "\(result.stdout)")
        #expect(error["reason"] as? String == reason)
        #expect((error["message"] as? String)?.isEmpty == false)
    }
}
