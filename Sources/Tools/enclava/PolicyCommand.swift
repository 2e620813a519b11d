import ArgumentParser
import EnclavaCrypto
import EnclavaAttestation
import EnclavaImage
import Foundation

/// `enclava policy …`: what a client accepts from an enclave.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Create attestation policies for clients.",
        subcommands: [PolicyCreate.self]
    )
}

/// `enclava policy create`: pins the image's manifest digest, the runtime's measurement and, for hardware,
/// the measurements, TCB levels and statuses to accept.
struct PolicyCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Write a policy (JSON) that accepts exactly this image running on this runtime (or these measurements).",
        discussion: """
            With --image the policy pins the image's manifest digest and, unless measurements are given, the \
            simulated runtime's measurement (an Enclava session policy; for --sim-format tdx: the simulated \
            firmware MRTD and RTMR0-2, RTMR1 holding the runtime). A TDX session policy must pin MRTD and \
            RTMR0-2 (MRTD alone measures only the TD firmware). Hardware pins: --measurement (SNP \
            MEASUREMENT, TDX MRTD, SGX MRENCLAVE, Nitro PCR0), --mrtd, --rtmr I=HEX, --mrenclave, --mrsigner, \
            --pcr I=HEX, --min-tcb bootloader=3,tee=0,snp=8,microcode=115 (SNP) or isv_svn=N (SGX), \
            --allow-tcb-status (Intel; default UpToDate and SWHardeningNeeded). --from-evidence FILE --platform P \
            verifies FILE (with --certs, --collateral, --collateral-cache, --at as for verify-evidence) and copies \
            its measurements (TDX: MRTD and RTMR0-3).
            """
    )

    @Option(name: .customLong("image"), help: "The signed enclave image whose manifest digest to pin, under its [image] name in `models` (repeat for a bridge serving several models; a client picks one with --model NAME).")
    var images: [String] = []

    @Option(help: "The enclava-runtime executable whose measurement to pin (default: the one beside enclava).")
    var runtime: String?

    @Flag(help: "Accept evidence from the simulated platform (development only) and pin its root.")
    var allowSimulation = false

    @Flag(help: "Accept guests whose policy allows debugging (development only).")
    var allowDebug = false

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Option(name: .customLong("sim-format"), help: "With --allow-simulation: the evidence the simulated enclave produces (snp, tdx, sgx, as `enclava serve --sim-format`); sets the allowed platform, the measurement (sgx: SHA-256 MRENCLAVE) and the pinned simulated root.")
    var simFormat: String = "snp"

    @Option(help: "Allowed platform (snp, tdx, sgx, nitro; repeatable). Default: the evidence's, or the simulated format's.")
    var platform: [EvidenceFileFormat.Platform] = []

    @Option(help: "Accepted measurement, hex (repeatable): SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE, Nitro PCR0.")
    var measurement: [String] = []

    @Option(help: "Accepted TDX MRTD, hex (repeatable).")
    var mrtd: [String] = []

    @Option(help: "Accepted TDX RTMR as INDEX=HEX, e.g. 2=ab12… (repeatable).")
    var rtmr: [String] = []

    @Option(help: "Accepted SGX MRENCLAVE, hex (repeatable).")
    var mrenclave: [String] = []

    @Option(help: "Accepted SGX MRSIGNER, hex (repeatable).")
    var mrsigner: [String] = []

    @Option(help: "Accepted Nitro PCR as INDEX=HEX (repeatable).")
    var pcr: [String] = []

    @Option(name: .customLong("min-tcb"), help: "Minimum TCB, e.g. bootloader=3,tee=0,snp=8,microcode=115 or isv_svn=2.")
    var minTCB: String?

    @Option(name: .customLong("allow-tcb-status"), help: "Accepted Intel TCB status (repeatable), e.g. UpToDate.")
    var allowTCBStatus: [String] = []

    @Flag(name: .customLong("require-tcb-status"), help: "Redundant (kept for old scripts): Intel evidence is always verified with its collateral now.")
    var requireTCBStatus = false

    @Option(name: .customLong("from-evidence"), help: "Copy the measurements of this verified evidence file (needs one --platform).")
    var fromEvidence: String?

    @Option(parsing: .upToNextOption, help: "With --from-evidence: SEV-SNP certificates, as for verify-evidence.")
    var certs: [String] = []

    @Option(help: "With --from-evidence: Intel collateral JSON or SNP certificate table.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "With --from-evidence: a folder of Intel collateral filled by `enclava collateral import`.")
    var collateralCache: String?

    @Option(help: "With --from-evidence: verification time, RFC 3339.")
    var at: String?

    @OptionGroup(title: "Launch measurement (pins what `enclava measure --snp-launch | --tdx` computes)")
    var launch: LaunchMeasureOptions

    @Option(help: "Where to write the policy JSON.")
    var out: String

    @Flag(help: "Replace an existing policy file at --out.")
    var force = false

    mutating func run() async throws {
        try CLI.requireOutputFolder(out)
        if !force && FileManager.default.fileExists(atPath: out) {
            throw CLIError("\(out) already exists; choose another path or pass --force to replace it")
        }
        guard let format = try? SimulatedPlatform.EvidenceFormat(parsing: simFormat) else {
            throw CLIError("--sim-format `\(simFormat)` is not one of snp, tdx, sgx")
        }
        guard format == .snp || allowSimulation else {
            throw CLIError("--sim-format \(format.rawValue) describes the simulator; add --allow-simulation")
        }
        var policy = AttestationPolicy(
            allowedPlatforms: platform.isEmpty ? [launch.tdx ? .tdx : format.platform] : platform.map(\.evidencePlatform),
            allowSimulation: allowSimulation, allowDebug: allowDebug)
        var lines: [String] = []
        if let fromEvidence { try copy(from: fromEvidence, into: &policy, lines: &lines) }
        try addPins(&policy)
        if launch.requested { lines += try launch.pin(into: &policy) }
        if !images.isEmpty {
            try pinImages(&policy, lines: &lines)
            if Self.pinsNoMeasurement(policy) {
                try format.pin(runtimeAt: try CLI.runtimePath(runtime), in: &policy)
                if format == .tdx { lines.append("  MRTD, RTMR0–2    pinned (simulated firmware; RTMR1 = this runtime)") }
            }
        }
        if allowSimulation {
            let simulator = try SimulatedPlatform.load(home: CLI.simHome(simHome))
            policy.simulatedRootFingerprints = [try simulator.rootFingerprint(for: format)]
        }
        policy = try validated(policy)
        try policy.write(to: out)
        print("wrote \(out)")
        print("  platforms        \(policy.allowedPlatforms.map(\.rawValue).joined(separator: ", "))")
        lines.forEach { print($0) }
        for value in policy.expectedMeasurements {
            print("  measurement      \(value)\(format == .snp || fromEvidence != nil ? "" : " (\(format.measurementField))")")
        }
        if policy.expectedMeasurements.isEmpty {
            CLI.note("note: no measurement is pinned; `enclava infer` refuses every enclave under this policy, "
                     + "`enclava verify-evidence` accepts any measurement")
        }
        if allowSimulation { print("  simulation       allowed (root sha256:\(policy.simulatedRootFingerprints[0]))") }
        if requireTCBStatus {
            CLI.note("note: --require-tcb-status is redundant: Intel evidence verifies only with its collateral, so it "
                     + "always has a TCB status")
        }
    }

    /// Whether no measurement of any platform is pinned yet.
    private static func pinsNoMeasurement(_ policy: AttestationPolicy) -> Bool {
        policy.expectedMeasurements.isEmpty && policy.expectedMRTD.isEmpty && policy.expectedRTMRs.isEmpty
            && policy.expectedMREnclave.isEmpty && policy.expectedMRSigner.isEmpty && policy.expectedPCRs.isEmpty
    }

    /// The explicit hardware pins.
    private func addPins(_ policy: inout AttestationPolicy) throws {
        policy.expectedMeasurements += measurement
        policy.expectedMRTD += mrtd
        policy.expectedMREnclave += mrenclave
        policy.expectedMRSigner += mrsigner
        try Self.indexed(rtmr, option: "--rtmr").forEach { policy.expectedRTMRs[$0.0, default: []].append($0.1) }
        try Self.indexed(pcr, option: "--pcr").forEach { policy.expectedPCRs[$0.0, default: []].append($0.1) }
        if let minTCB {
            do { policy.minimumTCB = try MinimumTCB(parsing: minTCB) } catch let error as AttestationError {
                throw CLIError("--min-tcb \(minTCB): \(error.message)")
            }
        }
        if !allowTCBStatus.isEmpty {
            policy.allowedTCBStatuses = try allowTCBStatus.map { text in
                guard let status = TCBStatus.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                    throw CLIError("--allow-tcb-status \(text) is not one of "
                                   + TCBStatus.allCases.map(\.rawValue).joined(separator: ", "))
                }
                return status
            }
        }
        policy.requireTCBStatus = requireTCBStatus
    }

    /// Verifies the evidence file (debug accepted only with --allow-debug) and pins what it measures.
    private func copy(from path: String, into policy: inout AttestationPolicy, lines: inout [String]) throws {
        guard platform.count == 1, let kind = platform.first else {
            throw CLIError("--from-evidence needs exactly one --platform (snp, tdx, sgx or nitro) to read \(path)")
        }
        let evidence = try EvidenceFileFormat.load(path, platform: kind, certs: certs, collateral: collateral)
        var check = AttestationPolicy.hardware([evidence.platform])
        check.allowDebug = allowDebug
        check.allowedTCBStatuses = TCBStatus.allCases
        let verifier = EvidenceVerifier(intelCollateral: try EvidenceFileFormat.intelCollateral(file: nil, cache: collateralCache))
        let attested: AttestedEvidence
        do {
            attested = try verifier.verifyEvidence(evidence, policy: check, at: try EvidenceFileFormat.time(at))
        } catch let error as AttestationError {
            throw CLIError("\(path) does not verify, so nothing was pinned: \(error)")
        }
        policy.expectedMeasurements.append(attested.measurementHex)
        lines.append("  from evidence    \(path) (\(attested.platform.rawValue), verified)")
        if let tdx = attested.tdxQuote {
            policy.expectedMRTD.append(Hex.encode(tdx.mrTD))
            for (index, value) in tdx.rtmrs.enumerated() { policy.expectedRTMRs["\(index)"] = [Hex.encode(value)] }
            lines.append("  MRTD, RTMR0…3    pinned")
        }
        if let sgx = attested.sgxQuote {
            policy.expectedMREnclave.append(Hex.encode(sgx.mrEnclave))
            policy.expectedMRSigner.append(Hex.encode(sgx.mrSigner))
            lines.append("  MRSIGNER         \(Hex.encode(sgx.mrSigner))")
        }
        for (index, value) in attested.pcrs.sorted(by: { $0.key < $1.key }) where index <= 8 && value.contains(where: { $0 != 0 }) {
            policy.expectedPCRs["\(index)"] = [Hex.encode(value)]
        }
    }

    /// `INDEX=HEX` pairs.
    private static func indexed(_ values: [String], option: String) throws -> [(String, String)] {
        try values.map { value in
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, Int(parts[0]) != nil else { throw CLIError("\(option) \(value) is not INDEX=HEX") }
            return (parts[0], parts[1])
        }
    }

    /// The policy as a client will read it: encoded and decoded again, so every hex value, size and index is
    /// checked by the same rules (an error names the bad value).
    private func validated(_ policy: AttestationPolicy) throws -> AttestationPolicy {
        do {
            return try JSONDecoder().decode(AttestationPolicy.self, from: JSONEncoder().encode(policy))
        } catch let error as AttestationError {
            throw CLIError("the policy is invalid: \(error)")
        }
    }

    /// Pins each `--image`'s manifest digest, and names it in `models` by its `[image] name`.
    private func pinImages(_ policy: inout AttestationPolicy, lines: inout [String]) throws {
        var models: [String: PinnedModel] = [:]
        var paths: [String: String] = [:]
        for image in images {
            try CLI.requireReadableFile(image, what: "image")
            let opened = try EnclaveImage.open(path: image)
            let name = opened.manifest.image.name
            if let other = paths[name] {
                throw CLIError("\(other) and \(image) are both named `\(name)`; a client picks a model by name, so each "
                               + "image the policy pins needs its own [image] name")
            }
            paths[name] = image
            let digest = Hex.encode(opened.manifestDigest)
            if !policy.expectedManifestDigests.contains(digest) { policy.expectedManifestDigests.append(digest) }
            models[name] = PinnedModel(manifestDigest: digest)
            lines.append("  manifest digest  \(digest)" + (images.count > 1 ? " (\(name))" : ""))
        }
        policy.models = models
    }
}
