import EnclavaTesting
import Foundation
import Testing

/// `enclava measure --snp-launch | --tdx` and `enclava policy create --snp-launch` through the real CLI: the
/// digest equals sev-snp-measure's on Debian's OVMF, and bad input is one line naming what to change.
@Suite(.serialized) struct MeasureLaunchCLITests {
    let fixture = CLIFixture.shared
    static let ovmf = "/usr/share/ovmf/OVMF.fd"
    static let hasOVMF = FileManager.default.fileExists(atPath: ovmf)
    static var reference: URL { TestPaths.packageRoot().appendingPathComponent(".build/measure-venv/bin/sev-snp-measure") }

    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"))
    func snpLaunchDigestMatchesSevSnpMeasure() throws {
        let ours = try fixture.expectSuccess(["measure", "--snp-launch", "--ovmf", Self.ovmf, "--vcpus", "4",
                                              "--vcpu-type", "EPYC-Milan", "--vmm", "gce"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ours.count == 96 && ours.allSatisfy(\.isHexDigit))
        // The library's agreement tests install the reference (make measure-venv); compare when it is there.
        if FileManager.default.isExecutableFile(atPath: Self.reference.path) {
            let theirs = try TestProcess.run(Self.reference, ["--mode", "snp", "--output-format", "hex", "--ovmf", Self.ovmf,
                                                              "--vcpus", "4", "--vcpu-type", "EPYC-Milan", "--vmm-type", "gce"])
            #expect(ours == theirs.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// `--json` names every input the digest depends on, so a value is never separated from its VMM or vCPU type.
    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"))
    func jsonNamesEveryInput() throws {
        let result = try fixture.expectSuccess(["measure", "--snp-launch", "--ovmf", Self.ovmf, "--vcpus", "2",
                                                "--vcpu-type", "epyc-genoa", "--vmm", "EC2", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let inputs = json?["inputs"] as? [String: String]
        #expect(json?["platform"] as? String == "snp" && (json?["measurement"] as? String)?.count == 96)
        #expect(inputs?["vcpu_type"] == "EPYC-Genoa" && inputs?["vmm"] == "ec2" && inputs?["vcpus"] == "2")
        #expect(inputs?["guest_features"] == "0x1" && inputs?["ovmf_sha256"]?.count == 64)
    }

    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"))
    func policyCreatePinsTheComputedMeasurement() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-measure-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let options = ["--snp-launch", "--ovmf", Self.ovmf, "--vcpus", "2", "--vcpu-type", "EPYC-v4"]
        let digest = try fixture.expectSuccess(["measure"] + options).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let policy = work.appendingPathComponent("policy.json")
        try fixture.expectSuccess(["policy", "create"] + options + ["--out", policy.path])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: policy)) as? [String: Any]
        #expect(json?["expected_measurements"] as? [String] == [digest])
        #expect(json?["allowed_platforms"] as? [String] == ["sev-snp"])
    }

    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"))
    func policyCreatePinsTheComputedMRTD() throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-measure-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let options = ["--tdx", "--ovmf", Self.ovmf, "--vcpus", "2", "--memory", "2G"]
        let mrtd = try fixture.expectSuccess(["measure"] + options).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "MRTD ", with: "")
        let policy = work.appendingPathComponent("policy.json")
        try fixture.expectSuccess(["policy", "create"] + options + ["--out", policy.path])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: policy)) as? [String: Any]
        #expect(json?["expected_mrtd"] as? [String] == [mrtd])
        #expect(json?["expected_measurements"] as? [String] == [mrtd])
        #expect(json?["allowed_platforms"] as? [String] == ["tdx"])
    }

    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"))
    func tdxPrintsMRTDAndSaysWhatIsNotComputed() throws {
        let result = try fixture.expectSuccess(["measure", "--tdx", "--ovmf", Self.ovmf, "--vcpus", "2", "--memory", "2G"])
        #expect(result.stdout.hasPrefix("MRTD ") && result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 5 + 96)
        #expect(result.stderr.contains("RTMR0-2 are not computed"))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let arguments: [String]
        let message: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "missing firmware", arguments: ["--snp-launch", "--ovmf", "/nonexistent/OVMF.fd", "--vcpus", "1", "--vcpu-type", "EPYC-v4"],
             message: "firmware /nonexistent/OVMF.fd does not exist or cannot be read; check the path"),
        Case(name: "vcpus 0", arguments: ["--snp-launch", "--ovmf", ovmf, "--vcpus", "0", "--vcpu-type", "EPYC-v4"],
             message: "--vcpus must be 1…1024 (the -smp count QEMU is given), got 0"),
        Case(name: "unknown vcpu type", arguments: ["--snp-launch", "--ovmf", ovmf, "--vcpus", "1", "--vcpu-type", "Skylake"],
             message: "--vcpu-type Skylake is not a known QEMU EPYC model; use one of EPYC, EPYC-v1"),
        Case(name: "firmware without SEV metadata",
             arguments: ["--snp-launch", "--ovmf", "/usr/share/OVMF/OVMF_CODE_4M.fd", "--vcpus", "1", "--vcpu-type", "EPYC-v4"],
             message: "/usr/share/OVMF/OVMF_CODE_4M.fd has no SEV metadata, so it cannot launch an SEV-SNP guest"),
        Case(name: "kernel on firmware without a hashes section",
             arguments: ["--snp-launch", "--ovmf", ovmf, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--kernel", ovmf],
             message: "has no kernel-hashes section, so a direct kernel boot is not measured"),
        Case(name: "bundle without bundle.json",
             arguments: ["--snp-launch", "--ovmf", ovmf, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--bundle", "/proc/self"],
             message: "/proc/self/bundle.json is missing or unreadable; rebuild the bundle with `enclava vm build`"),
        Case(name: "unknown vmm", arguments: ["--snp-launch", "--ovmf", ovmf, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--vmm", "azure"],
             message: "--vmm azure is not known; use one of qemu, ec2, gce"),
        Case(name: "tdx without memory", arguments: ["--tdx", "--ovmf", ovmf, "--vcpus", "1"],
             message: "--memory is required with --tdx"),
        Case(name: "both platforms", arguments: ["--snp-launch", "--tdx", "--ovmf", ovmf, "--vcpus", "1"],
             message: "give exactly one of --snp-launch and --tdx"),
    ]

    @Test(.enabled(if: hasOVMF, "needs Debian's ovmf package (make deps installs it)"), arguments: cases)
    func badInputIsOneLineNamingTheFix(_ item: Case) throws {
        let result = try fixture.run(["measure"] + item.arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(item.message), "\(result.stderr)")
    }
}
