import EnclavaTesting
import Foundation
import Testing

/// Intel evidence through `enclava verify-evidence` verifies only with complete collateral: for every real and
/// simulated TDX and SGX quote, collateral that is absent, partial (each part left out) or another platform's is
/// refused; `enclava collateral import` fills a client-side cache from saved PCS responses or dcap-qvl JSON.
@Suite struct IntelCollateralCLITests {
    let fixture = CLIFixture.shared
    static let data = TestPaths.shared().appendingPathComponent("testdata/attestation")
    static func path(_ relative: String) -> String { data.appendingPathComponent(relative).path }

    /// A quote, the time it is checked at, its complete collateral (if any exists) and another platform's.
    struct Quote: CustomTestStringConvertible, Sendable {
        let name: String
        let platform: String
        let at: String?
        let collateral: String?
        let foreign: String
        var testDescription: String { name }
    }

    static let tdxCollateral = path("tdx/dcap-qvl/tdx_quote_collateral.json")
    static let outdatedCollateral = path("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")
    static let sgxCollateral = path("sgx/dcap-qvl/sgx_quote_collateral.json")

    static let quotes: [Quote] = [
        Quote(name: "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", platform: "tdx", at: "2023-07-01T01:00:00Z", collateral: nil, foreign: tdxCollateral),
        Quote(name: "tdx/go-tdx-guest/quote_v5_sample.dat", platform: "tdx", at: "2026-02-19T00:00:00Z", collateral: outdatedCollateral, foreign: tdxCollateral),
        Quote(name: "tdx/dcap-qvl/tdx_quote", platform: "tdx", at: "2025-06-20T00:00:00Z", collateral: tdxCollateral, foreign: outdatedCollateral),
        Quote(name: "tdx/dcap-qvl/tdx_quote_outdated", platform: "tdx", at: "2026-02-19T00:00:00Z", collateral: outdatedCollateral, foreign: tdxCollateral),
        Quote(name: "tdx/trustee/tdx_quote_4.dat", platform: "tdx", at: "2024-01-01T00:00:00Z", collateral: nil, foreign: tdxCollateral),
        Quote(name: "sgx/dcap-qvl/sgx_quote", platform: "sgx", at: "2025-06-20T00:00:00Z", collateral: sgxCollateral, foreign: tdxCollateral),
        Quote(name: "sgx/trustee/occlum_quote.dat", platform: "sgx", at: "2024-01-01T00:00:00Z", collateral: nil, foreign: sgxCollateral),
        Quote(name: "simulated tdx", platform: "tdx", at: nil, collateral: "sim", foreign: tdxCollateral),
        Quote(name: "simulated sgx", platform: "sgx", at: nil, collateral: "sim", foreign: sgxCollateral),
    ]

    static let keys = ["tcb_info", "tcb_info_signature", "tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
                       "qe_identity_issuer_chain", "pck_crl", "root_ca_crl"]

    /// `verify-evidence` on `quote` with `extra` arguments (a simulated quote is made first, with a policy that
    /// accepts the simulator).
    func verify(_ quote: Quote, folder: URL, _ extra: [String]) throws -> TestProcess.Result {
        var arguments = ["verify-evidence"]
        if quote.collateral == "sim" {
            let file = folder.appendingPathComponent("\(quote.platform).quote").path
            if !FileManager.default.fileExists(atPath: file) {
                try fixture.expectSuccess(["sim", "quote", "--sim-format", quote.platform, "--out", file])
                try fixture.expectSuccess(["policy", "create", "--allow-simulation", "--sim-format", quote.platform,
                                           "--out", folder.appendingPathComponent("\(quote.platform).policy").path])
            }
            arguments += [file, "--policy", folder.appendingPathComponent("\(quote.platform).policy").path]
        } else {
            arguments += [Self.path(quote.name)]
        }
        arguments += ["--platform", quote.platform] + (quote.at.map { ["--at", $0] } ?? [])
        return try fixture.run(arguments + extra)
    }

    func completeCollateral(_ quote: Quote) -> String {
        switch quote.collateral {
        case "sim": fixture.home.appendingPathComponent("sim/intel/collateral-\(quote.platform).json").path
        case let path?: path
        case nil: quote.platform == "tdx" ? Self.tdxCollateral : Self.sgxCollateral  // the parts are checked first
        }
    }

    func expectRefused(_ result: TestProcess.Result, _ code: String, _ what: String) {
        #expect(result.status != 0, "\(what)")
        #expect(result.stderr.contains(code) && result.stderr.split(separator: "\n").count == 1, "\(what): \(result.stderr)")
    }

    @Test(arguments: quotes) func absentPartialOrForeignCollateralIsRefused(_ quote: Quote) throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-collateral-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Absent: refused, naming what is missing and how to supply it.
        let absent = try verify(quote, folder: folder, [])
        expectRefused(absent, "COLLATERAL_MISSING", "absent")
        #expect(absent.stderr.contains("TCB Info") && absent.stderr.contains("enclava collateral import"), "\(absent.stderr)")
        // Partial: each part left out of otherwise complete collateral.
        let complete = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: completeCollateral(quote)))) as! [String: Any]
        for key in Self.keys {
            var partial = complete
            partial.removeValue(forKey: key)
            let file = folder.appendingPathComponent("partial-\(key).json")
            try JSONSerialization.data(withJSONObject: partial).write(to: file)
            let result = try verify(quote, folder: folder, ["--collateral", file.path])
            expectRefused(result, "COLLATERAL_MISSING", key)
            #expect(result.stderr.contains("`\(key)`"), "\(key): \(result.stderr)")
        }
        // Another platform's (another FMSPC, another kind, or Intel's for the simulator): refused.
        expectRefused(try verify(quote, folder: folder, ["--collateral", quote.foreign]), "COLLATERAL_INVALID", "foreign")
        // An empty cache folder is no collateral either.
        let cache = folder.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let empty = try verify(quote, folder: folder, ["--collateral-cache", cache.path])
        expectRefused(empty, "COLLATERAL_MISSING", "empty cache")
        #expect(empty.stderr.contains(cache.path), "\(empty.stderr)")
    }

    /// dcap-qvl's real TDX sample: another FMSPC's genuine collateral, at a time inside its windows, is refused
    /// by the FMSPC check itself.
    @Test func anotherFMSPCsGenuineCollateralIsRefusedByName() throws {
        let result = try fixture.run(["verify-evidence", Self.path("tdx/dcap-qvl/tdx_quote"), "--platform", "tdx",
                                      "--at", "2026-02-19T00:00:00Z", "--collateral", Self.outdatedCollateral])
        expectRefused(result, "COLLATERAL_INVALID", "swapped")
        #expect(result.stderr.contains("(TCB Info fmspc)") && result.stderr.contains("b0c06f000000"), "\(result.stderr)")
    }

    /// `collateral import` from saved PCS responses (go-tdx-guest's, with a URL-encoded issuer-chain header) and
    /// from dcap-qvl JSON; the cache then supplies the collateral by FMSPC. Incomplete or altered input imports nothing.
    @Test func importFillsACacheThatVerifyEvidenceUses() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-collateral-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = folder.appendingPathComponent("cache").path
        let go = "tdx/go-tdx-guest/"
        let chain = try String(contentsOfFile: Self.path(go + "tcb-info-issuer-chain.EXTRACTED.pem"), encoding: .utf8)
        let header = folder.appendingPathComponent("TCB-Info-Issuer-Chain.txt")
        try Data(chain.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!.utf8).write(to: header)
        let pcs = ["--tcb-info", Self.path(go + "sample_tcbInfo_response"), "--qe-identity", Self.path(go + "sample_qeIdentity_response"),
                   "--tcb-info-issuer-chain", header.path, "--pck-crl", Self.path(go + "pckcrl"), "--root-ca-crl", Self.path(go + "rootcrl.der")]
        // One part short: refused, naming it, nothing written.
        let short = try fixture.run(["collateral", "import", "--cache", cache] + pcs.dropLast(2))
        #expect(short.status != 0 && short.stderr.contains("--root-ca-crl"), "\(short.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache))
        // Altered TCB Info: the signature does not check, nothing written.
        var altered = try Data(contentsOf: URL(fileURLWithPath: Self.path(go + "sample_tcbInfo_response")))
        altered[altered.range(of: Data("\"UpToDate\"".utf8))!.lowerBound + 1] = UInt8(ascii: "u")
        let alteredFile = folder.appendingPathComponent("tcbinfo-altered.json")
        try altered.write(to: alteredFile)
        var alteredArguments = pcs
        alteredArguments[1] = alteredFile.path
        let bad = try fixture.run(["collateral", "import", "--cache", cache] + alteredArguments)
        #expect(bad.status != 0 && bad.stderr.contains("SIGNATURE_INVALID"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache))

        let imported = try fixture.run(["collateral", "import", "--cache", cache] + pcs)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("tdx collateral for FMSPC 50806f000000"), "\(imported.stdout)")
        #expect(FileManager.default.fileExists(atPath: cache + "/tdx-50806f000000.json"))
        // The cache is used: the go-tdx-guest quote now gets as far as its TCB (which no level matches).
        let go4 = try fixture.run(["verify-evidence", Self.path(go + "tdx_prod_quote_SPR_E4.dat"), "--platform", "tdx",
                                   "--at", "2023-07-01T01:00:00Z", "--collateral-cache", cache])
        expectRefused(go4, "TCB_MISMATCH", "go-tdx-guest with cache")

        let dcap = try fixture.run(["collateral", "import", "--cache", cache, "--dcap-qvl", Self.tdxCollateral])
        #expect(dcap.status == 0 && dcap.stdout.contains("b0c06f000000"), "\(dcap.stderr)")
        let verified = try fixture.run(["verify-evidence", Self.path("tdx/dcap-qvl/tdx_quote"), "--platform", "tdx",
                                        "--at", "2025-06-20T00:00:00Z", "--collateral-cache", cache])
        #expect(verified.status == 0 && verified.stdout.contains("UpToDate") && verified.stdout.contains("VERIFIED"), "\(verified.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).sorted() == ["tdx-50806f000000.json", "tdx-b0c06f000000.json"])
    }

    /// `policy create --sim-format tdx` pins the simulated firmware MRTD and RTMR0–2 (RTMR1 = the runtime); a TDX
    /// session policy without RTMR pins is refused by `policy create` and, as an older file, by `enclava infer`
    /// before it connects.
    @Test func tdxSessionPoliciesPinRTMR0To2() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-tdx-policy-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("p.json").path
        let created = try fixture.expectSuccess(["policy", "create", "--image", fixture.image.path, "--allow-simulation",
                                                 "--sim-format", "tdx", "--out", path])
        #expect(created.stdout.contains("MRTD, RTMR0–2"), "\(created.stdout)")
        var policy = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let rtmrs = try #require(policy["expected_rtmrs"] as? [String: [String]])
        #expect(rtmrs.keys.sorted() == ["0", "1", "2"] && rtmrs.values.allSatisfy { $0.count == 1 && $0[0].count == 96 })
        #expect((policy["expected_mrtd"] as? [String]) == (policy["expected_measurements"] as? [String]))
        let hex48 = String(repeating: "ab", count: 48)
        let refused = try fixture.run(["policy", "create", "--image", fixture.image.path, "--platform", "tdx", "--mrtd", hex48,
                                       "--rtmr", "0=\(hex48)", "--out", folder.appendingPathComponent("never.json").path])
        #expect(refused.status != 0 && refused.stderr.contains("INVALID_POLICY") && refused.stderr.contains("RTMR1, RTMR2"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("never.json").path))
        policy.removeValue(forKey: "expected_rtmrs")
        let old = folder.appendingPathComponent("old.json")
        try JSONSerialization.data(withJSONObject: policy).write(to: old)
        let infer = try fixture.run(["infer", "--endpoint", "127.0.0.1:1", "--policy", old.path, "--input", "features=[1]"])
        #expect(infer.status != 0 && infer.stderr.contains("INVALID_POLICY") && infer.stderr.contains("MRTD measures only the TD firmware"),
                "\(infer.stderr)")
    }
}
