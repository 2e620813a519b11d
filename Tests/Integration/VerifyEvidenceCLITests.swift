import EnclavaAttestation
import EnclavaCrypto
import EnclavaTesting
import Foundation
import Testing

/// `enclava verify-evidence` and `enclava policy create` hardware pins, run as a process on the real evidence
/// in ../shared/testdata/attestation.
@Suite struct VerifyEvidenceCLITests {
    static let data = TestPaths.shared().appendingPathComponent("testdata/attestation")
    static let enclava = TestPaths.binDirectory.appendingPathComponent("enclava")

    /// One evidence file with its arguments and the time PROVENANCE.md (or its certificates) gives.
    struct Sample: CustomTestStringConvertible, Sendable {
        let file: String
        let platform: String
        let extra: [String]
        let at: String
        let isDebug: Bool
        /// The code the default policy refuses it with (Intel quotes without collateral, or whose TCB the
        /// collateral rates below the default), nil when it verifies.
        var refusal: String? = nil
        var testDescription: String { file }
    }

    static let samples: [Sample] = [
        Sample(file: "sev-snp/go-sev-guest/attestation.bin", platform: "snp",
               extra: ["--certs", path("sev-snp/go-sev-guest/vcek.testcer"), path("sev-snp/go-sev-guest/ask_ark_milan.pem")],
               at: "2022-09-24T01:00:00Z", isDebug: true),
        Sample(file: "sev-snp/trustee/test-report.bin", platform: "snp", extra: ["--certs", path("sev-snp/trustee/test-vcek.der")],
               at: "2024-01-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/trustee/test-vlek-report.bin", platform: "snp",
               extra: ["--certs", path("sev-snp/trustee/test-vlek.der"), path("sev-snp/trustee/milan_ask_ark_asvk.pem")],
               at: "2025-06-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/trustee/evidence.report.DERIVED.bin", platform: "snp",
               extra: ["--certs", path("sev-snp/trustee/evidence.vcek.DERIVED.der")], at: "2025-06-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/trustee/evidence.json", platform: "snp", extra: [], at: "2025-06-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/teekit-gcp/sev-gcp.bin", platform: "snp", extra: ["--certs", path("sev-snp/teekit-gcp")],
               at: "2026-01-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/teekit-gcp/sev-gcp-reportdata.bin", platform: "snp",
               extra: ["--certs", path("sev-snp/teekit-gcp/sev-gcp-vcek.pem")], at: "2026-01-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/teekit-gcp/sev-gcp-x25519-bound.bin", platform: "snp",
               extra: ["--certs", path("sev-snp/teekit-gcp/sev-gcp-x25519-vcek.pem")], at: "2026-01-01T00:00:00Z", isDebug: false),
        Sample(file: "sev-snp/virtee-sev/report_milan.hex", platform: "snp", extra: ["--certs", path("sev-snp/virtee-sev")],
               at: "2024-01-01T00:00:00Z", isDebug: false),
        Sample(file: "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", platform: "tdx", extra: [], at: "2023-07-01T01:00:00Z", isDebug: false,
               refusal: "COLLATERAL_MISSING"),
        Sample(file: "tdx/go-tdx-guest/quote_v5_sample.dat", platform: "tdx",
               extra: ["--collateral", path("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")], at: "2026-02-19T00:00:00Z", isDebug: false),
        Sample(file: "tdx/dcap-qvl/tdx_quote", platform: "tdx",
               extra: ["--collateral", path("tdx/dcap-qvl/tdx_quote_collateral.json")], at: "2025-06-20T00:00:00Z", isDebug: false),
        Sample(file: "tdx/dcap-qvl/tdx_quote_outdated", platform: "tdx",
               extra: ["--collateral", path("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")], at: "2026-02-19T00:00:00Z",
               isDebug: false, refusal: "TCB_MISMATCH"),
        Sample(file: "tdx/trustee/tdx_quote_4.dat", platform: "tdx", extra: [], at: "2024-01-01T00:00:00Z", isDebug: true,
               refusal: "COLLATERAL_MISSING"),
        Sample(file: "sgx/dcap-qvl/sgx_quote", platform: "sgx", extra: ["--collateral", path("sgx/dcap-qvl/sgx_quote_collateral.json")],
               at: "2025-06-20T00:00:00Z", isDebug: false, refusal: "TCB_STATUS_NOT_ALLOWED"),
        Sample(file: "sgx/trustee/occlum_quote.dat", platform: "sgx", extra: [], at: "2024-01-01T00:00:00Z", isDebug: true,
               refusal: "COLLATERAL_MISSING"),
        Sample(file: "nitro/blocky-nitrite/nitro_attestation.b64", platform: "nitro", extra: [], at: "2024-09-07T14:37:39.545Z", isDebug: false),
        Sample(file: "nitro/blocky-nitrite/nitro_attestation_debug.b64", platform: "nitro", extra: [], at: "2024-09-07T14:38:06.508Z", isDebug: true),
    ]

    static func path(_ relative: String) -> String { data.appendingPathComponent(relative).path }

    func run(_ arguments: [String]) throws -> TestProcess.Result {
        try TestProcess.run(Self.enclava, arguments, timeout: 120)
    }

    func verify(_ sample: Sample, file: String? = nil, _ more: [String] = []) throws -> TestProcess.Result {
        try run(["verify-evidence", file ?? Self.path(sample.file), "--platform", sample.platform, "--at", sample.at] + sample.extra + more)
    }

    /// A policy file in a fresh folder.
    func policyFile(_ json: String) throws -> String {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-verify-cli")
        let url = folder.appendingPathComponent("policy.json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    /// One concept, two spellings: `--platform sev-snp` (as `--backend` and policies say) is `--platform snp`.
    @Test func sevSNPIsAcceptedAsAPlatformSpelling() throws {
        let sample = Self.samples.first { $0.platform == "snp" && $0.refusal == nil && !$0.isDebug }!
        let result = try run(["verify-evidence", Self.path(sample.file), "--platform", "SEV-SNP", "--at", sample.at] + sample.extra)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("VERIFIED"), "\(result.stdout)")
    }

    /// Every real sample verifies at its time (exit 0), except that the debug ones are refused by the default
    /// policy — and accepted with a policy that allows debug — and that Intel quotes without collateral (or
    /// whose collateral rates their TCB below the default) are refused with that reason, whatever the policy.
    @Test(arguments: samples)
    func everySampleVerifiesAtItsTime(_ sample: Sample) throws {
        let result = try verify(sample)
        if let refusal = sample.refusal {
            #expect(result.status != 0)
            #expect(result.stderr.contains(refusal) && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stdout.contains("REFUSED \(refusal)"), "\(result.stdout)")
            if refusal == "COLLATERAL_MISSING" {
                #expect(result.stderr.contains("--collateral-cache") && result.stderr.contains("enclava collateral import"))
                let allowDebug = try policyFile(#"{"allowed_platforms": ["tdx", "sgx"], "allow_debug": true, "require_tcb_status": false}"#)
                #expect(try verify(sample, ["--policy", allowDebug]).stderr.contains("COLLATERAL_MISSING"))
            }
        } else if sample.isDebug {
            #expect(result.status != 0)
            #expect(result.stderr.contains("DEBUG_NOT_ALLOWED"), "\(result.stderr)")
            let allowDebug = try policyFile(#"{"allowed_platforms": ["sev-snp", "tdx", "sgx", "nitro"], "allow_debug": true}"#)
            let accepted = try verify(sample, ["--policy", allowDebug])
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(accepted.stdout.contains("VERIFIED"))
        } else {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("verdict   VERIFIED"))
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
    }

    /// A flipped byte anywhere in the evidence: exit non-zero with one clear line on stderr.
    @Test(arguments: samples.filter { !$0.file.hasSuffix(".hex") && !$0.file.hasSuffix(".b64") && !$0.file.hasSuffix(".json") })
    func flippedByteIsRefusedWithOneLine(_ sample: Sample) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path(sample.file)))
        let signedEnd = sample.platform == "snp" ? 0x2A0 : min(bytes.count, 432)
        let offset = Int.random(in: 0..<signedEnd)
        bytes[offset] ^= 0x01
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-verify-cli")
        let altered = folder.appendingPathComponent("altered.bin")
        try bytes.write(to: altered)
        let result = try verify(sample, file: altered.path, ["--policy", try policyFile(#"{"allowed_platforms": ["sev-snp", "tdx", "sgx"], "allow_debug": true}"#)])
        #expect(result.status != 0, "byte \(offset)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("SIGNATURE_INVALID") || result.stderr.contains("MALFORMED_EVIDENCE"), "byte \(offset): \(result.stderr)")
        #expect(result.stdout.contains("REFUSED"))
    }

    /// --json prints the claims and the verdict as JSON.
    @Test func jsonOutput() throws {
        let result = try verify(Self.samples[6], ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["verified"] as? Bool == true)
        #expect(object["measurement"] as? String == "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3")
        let refused = try verify(Self.samples[0], ["--json"])
        #expect(refused.status != 0)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        #expect((error["error"] as? [String: Any])?["code"] as? String == "DEBUG_NOT_ALLOWED")
    }

    /// Intel TCB status from collateral: dcap-qvl's SGX sample is ConfigurationAndSWHardeningNeeded, which the
    /// default policy refuses and a policy listing it accepts; outside the collateral's validity it is refused.
    @Test func sgxTCBStatusFollowsThePolicy() throws {
        let sample = Sample(file: "sgx/dcap-qvl/sgx_quote", platform: "sgx",
                            extra: ["--collateral", Self.path("sgx/dcap-qvl/sgx_quote_collateral.json")],
                            at: "2025-06-20T00:00:00Z", isDebug: false)
        let refused = try verify(sample)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("TCB_STATUS_NOT_ALLOWED") && refused.stderr.contains("INTEL-SA-00615"), "\(refused.stderr)")
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-verify-cli")
        let policy = folder.appendingPathComponent("p.json").path
        let created = try run(["policy", "create", "--platform", "sgx", "--allow-tcb-status", "UpToDate",
                               "--allow-tcb-status", "ConfigurationAndSWHardeningNeeded", "--out", policy])
        #expect(created.status == 0, "\(created.stderr)")
        let accepted = try verify(sample, ["--policy", policy])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains("ConfigurationAndSWHardeningNeeded"))
        let late = try run(["verify-evidence", Self.path(sample.file), "--platform", "sgx", "--at", "2030-01-01T00:00:00Z"] + sample.extra)
        #expect(late.status != 0)
    }

    /// `policy create --from-evidence` pins what a verified sample measures: that sample passes, another fails
    /// with MEASUREMENT_MISMATCH; minimum TCB and explicit pins refuse with the field named.
    @Test func policyFromEvidencePinsItsMeasurements() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-verify-cli")
        let policy = folder.appendingPathComponent("p.json").path
        let gcp = Self.samples[6]
        let created = try run(["policy", "create", "--from-evidence", Self.path(gcp.file), "--platform", "snp",
                               "--at", gcp.at, "--min-tcb", "bootloader=4,snp=27", "--out", policy] + gcp.extra)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try verify(gcp, ["--policy", policy]).status == 0)
        let other = try verify(Self.samples[1], ["--policy", policy])
        #expect(other.status != 0)
        #expect(other.stderr.contains("MEASUREMENT_MISMATCH"), "\(other.stderr)")
        let strict = folder.appendingPathComponent("strict.json").path
        #expect(try run(["policy", "create", "--platform", "snp", "--min-tcb", "snp=28", "--out", strict]).status == 0)
        let low = try verify(gcp, ["--policy", strict])
        #expect(low.stderr.contains("TCB_BELOW_MINIMUM") && low.stderr.contains("REPORTED_TCB.snp"), "\(low.stderr)")
        let tdx = folder.appendingPathComponent("tdx.json").path
        let tdxSample = Self.samples[11]
        #expect(try run(["policy", "create", "--from-evidence", Self.path(tdxSample.file), "--platform", "tdx",
                         "--at", tdxSample.at, "--out", tdx] + tdxSample.extra).status == 0)
        let text = try String(contentsOfFile: tdx, encoding: .utf8)
        #expect(text.contains("expected_rtmrs") && text.contains("expected_mrtd"))
        #expect(try verify(tdxSample, ["--policy", tdx]).status == 0)
        #expect(try verify(Self.samples[10], ["--policy", tdx]).stderr.contains("MRTD"))
    }

    /// Bad input: one line naming the problem.
    @Test func badInputIsOneLine() throws {
        let cases: [[String]] = [
            ["verify-evidence", "/nonexistent/e.bin", "--platform", "snp"],
            ["verify-evidence", Self.path("sev-snp/trustee/test-report.bin"), "--platform", "snp", "--at", "yesterday"],
            ["verify-evidence", Self.path("sev-snp/trustee/test-report.bin"), "--platform", "snp", "--certs", Self.path("sev-snp/PROVENANCE.md")],
            ["verify-evidence", Self.path("tdx/dcap-qvl/tdx_quote"), "--platform", "tdx", "--certs", Self.path("sev-snp/trustee/test-vcek.der")],
            ["verify-evidence", Self.path("sev-snp/trustee/test-report.bin"), "--platform", "snp", "--policy", Self.path("sev-snp/PROVENANCE.md")],
        ]
        for arguments in cases {
            let result = try run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        // No certificates for an SNP report: the VCEK is named, with its AMD KDS address.
        let missing = try run(["verify-evidence", Self.path("sev-snp/trustee/test-report.bin"), "--platform", "snp", "--at", "2024-01-01T00:00:00Z"])
        #expect(missing.status != 0 && missing.stderr.contains("kdsintf.amd.com"), "\(missing.stderr)")
    }

    /// An SNP_GET_EXT_REPORT / auxblob certificate table as --collateral (or --certs) supplies the VLEK chain.
    @Test func certificateTableFile() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-verify-cli")
        let chain = try Certificate.parseChain(pem: String(contentsOfFile: Self.path("sev-snp/go-sev-guest/ask_ark_milan_vlek.pem"), encoding: .utf8))
        let vlek = try Data(contentsOf: URL(fileURLWithPath: Self.path("sev-snp/trustee/test-vlek.der")))
        let table = SNPCertificates(vlek: Array(vlek), ask: chain[0].derRepresentation, ark: chain[1].derRepresentation).certificateTable()
        let file = folder.appendingPathComponent("auxblob.bin")
        try Data(table).write(to: file)
        let report = Self.path("sev-snp/trustee/test-vlek-report.bin")
        for option in ["--collateral", "--certs"] {
            let result = try run(["verify-evidence", report, "--platform", "snp", "--at", "2025-06-01T00:00:00Z", option, file.path])
            #expect(result.status == 0, "\(option): \(result.stderr)")
            #expect(result.stdout.contains("VLEK"))
        }
        // After the VLEK expired (2025-12-10) the same evidence is refused.
        let late = try run(["verify-evidence", report, "--platform", "snp", "--at", "2026-01-01T00:00:00Z", "--collateral", file.path])
        #expect(late.status != 0 && late.stderr.contains("CERTIFICATE_CHAIN_INVALID"), "\(late.stderr)")
    }
}
