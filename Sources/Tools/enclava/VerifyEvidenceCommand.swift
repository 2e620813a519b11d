import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import Foundation

/// `enclava verify-evidence`: verify raw hardware evidence (no Enclava report-data binding) and print what it
/// attests.
///
/// Without `--policy` the default is ``AttestationPolicy/hardware(_:)``: genuine hardware of the given
/// platform (chain to the embedded AMD, Intel or AWS root), no simulation, debug refused, Intel TCB status
/// (from the collateral every Intel quote needs) UpToDate or SWHardeningNeeded, no measurement pinned. Exit status 0 only when verified.
struct VerifyEvidenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-evidence",
        abstract: "Verify SEV-SNP, TDX, SGX, Nitro, Arm CCA or PSA evidence and print its claims and the verdict.",
        discussion: """
            FILE is the evidence as the platform produced it: an SEV-SNP report (1184 bytes raw, or .hex, .b64, or \
            trustee/virtee evidence JSON with its cert_chain), a TDX or SGX quote (raw, .hex or .b64), or a Nitro \
            attestation document (raw COSE_Sign1 or .b64).
            Without --policy: real hardware only, debug refused, any measurement ("hardware, no debug").
            SEV-SNP certificates come from --certs (DER or PEM files, a folder of them such as a KDS cache, or an \
            SNP_GET_EXT_REPORT/auxblob certificate table); only the VCEK or VLEK is required, AMD's ASKs and ARKs \
            are built in. TDX and SGX quotes verify only with Intel's collateral (TCB Info, QE Identity, PCK CRL, \
            Root CA CRL): --collateral with dcap-qvl's collateral JSON, or --collateral-cache DIR filled by \
            `enclava collateral import` from saved Intel PCS/PCCS responses.
            Arm CCA and PSA tokens verify only under a platform key you pin (there is no public Arm root): \
            --cpak [INSTANCE_ID=]PEM (CCA CPAK or PSA IAK; without an id it is filed under the id the token claims), \
            --endorsements JSON ({"instance id hex": "PEM", …}) or the policy's `arm_cpaks`.
            Exit status: 0 when verified, 1 when refused or the input is bad (one line on stderr).
            """
    )

    @Argument(help: "The evidence file.")
    var file: String

    @Option(help: "snp, tdx, sgx, nitro, cca or psa.")
    var platform: EvidenceFileFormat.Platform

    @Option(parsing: .upToNextOption, help: "SEV-SNP: VCEK/VLEK, ASK, ARK files, folders of them, or a certificate table.")
    var certs: [String] = []

    @Option(help: "TDX/SGX: collateral JSON (TCB Info, QE Identity, CRLs); SEV-SNP: a certificate table.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "TDX/SGX: a folder of collateral by FMSPC, filled by `enclava collateral import`.")
    var collateralCache: String?

    @Option(help: "cca/psa: the platform's CPAK (PSA: IAK) public key PEM, as [INSTANCE_ID_HEX=]FILE (repeatable).")
    var cpak: [String] = []

    @Option(help: "cca/psa: JSON file mapping platform instance ids (hex) to PEM public keys.")
    var endorsements: String?

    @Option(help: "Verification time, RFC 3339 (default: now). Recorded evidence needs its own time.")
    var at: String?

    @Option(help: "Policy JSON (default: hardware of this platform, debug refused, no measurement pinned).")
    var policy: String?

    @Option(name: .customLong("sim-home"), help: "Simulated platform home, for policies that allow simulation.")
    var simHome: String?

    @Flag(help: "Print JSON.")
    var json = false

    mutating func run() async throws {
        let time = try EvidenceFileFormat.time(at)
        let evidence = try EvidenceFileFormat.load(file, platform: platform, certs: certs, collateral: collateral)
        var policy = try policy.map { try AttestationPolicy.load(path: $0) } ?? .hardware([evidence.platform])
        try EvidenceFileFormat.addArmKeys(cpaks: cpak, endorsements: endorsements, evidence: evidence, to: &policy)
        let verifier = EvidenceVerifier(
            simulatedRoots: EvidenceFileFormat.simulatedRoots(simHome, policy: policy),
            intelCollateral: try EvidenceFileFormat.intelCollateral(file: nil, cache: collateralCache))
        var attested: AttestedEvidence?
        do {
            // Attest with the policy's platform and simulation rules only, so the claims print even when a
            // pin or debug refuses them; then judge with the full policy.
            attested = try verifier.verifyEvidence(evidence, policy: EvidenceFileFormat.permissive(policy), at: time)
            try policy.check(attested!)
        } catch let error as AttestationError {
            report(attested, error: error, time: time)
            CLI.note("enclava: refused" + (error.field.map { " (\($0))" } ?? "") + ": \(error)")
            throw ExitCode(1)
        }
        report(attested, error: nil, time: time)
    }

    private func report(_ attested: AttestedEvidence?, error: AttestationError?, time: Date) {
        let claims = attested?.claims ?? []
        if json {
            var object: [String: Any] = [
                "file": file, "platform": platform.evidencePlatform.rawValue, "verified": error == nil,
                "time": ISO8601DateFormatter().string(from: time),
                "claims": Dictionary(claims.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first }),
            ]
            if let attested {
                object["simulated"] = attested.isSimulated
                object["measurement"] = attested.measurementHex
                object["report_data"] = Hex.encode(attested.reportData)
                object["debug"] = attested.isDebug
            }
            if let error {
                object["error"] = [
                    "code": error.code.rawValue, "field": error.field ?? "", "expected": error.expected ?? "",
                    "actual": error.actual ?? "", "message": error.message,
                ]
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("evidence  \(file) (\(platform.evidencePlatform.rawValue)) at \(ISO8601DateFormatter().string(from: time))")
        let width = (claims.map(\.0.count).max() ?? 0) + 2
        for (key, value) in claims {
            print("  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + value)
        }
        print(error == nil ? "verdict   VERIFIED" + (policy == nil ? " (default policy: hardware, no debug, no measurement pinned)" : "")
                           : "verdict   REFUSED \(error!.code.rawValue)")
    }
}
