import ArgumentParser
import EnclavaCrypto
import EnclavaAttestation
import Foundation

/// `enclava sim …`: the simulated platform (a local stand-in for AMD's and Intel's key chains and a platform secret).
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Manage the simulated TEE platform used by --backend sim.",
        subcommands: [SimInit.self, SimShow.self, SimQuote.self]
    )
}

/// `enclava sim init`: creates the simulated ARK → ASK → VCEK chain, platform secret and Intel PCK hierarchy.
struct SimInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a simulated TEE platform under $ENCLAVA_HOME/sim: SEV-SNP (ARK, ASK, VCEK, platform secret) and Intel (root, PCK CA, PCK, TCB signing, collateral) for --sim-format snp|tdx|sgx."
    )

    @Option(name: .customLong("home"), help: "Platform home folder (default: $ENCLAVA_HOME or ~/.enclava).")
    var home: String?

    @Flag(help: "Replace an existing simulated platform (images sealed for the old one stop working).")
    var force = false

    mutating func run() async throws {
        let home = CLI.simHome(home)
        let platform: SimulatedPlatform
        if !force, let existing = try? SimulatedPlatform.load(home: home) {
            // Running it again is not an error: the platform is there and nothing changes.
            platform = existing
            print("simulated platform already initialised: \(home)/sim (unchanged; `--force` replaces it)")
        } else {
            CLI.note("creating simulated platform under \(home)/sim (RSA-4096 keys take a few seconds)…")
            platform = try SimulatedPlatform.initialize(home: home, force: force)
            print("simulated platform ready: \(home)/sim")
        }
        print("  ARK  \(platform.ark.subject)  sha256:\(Hex.encode(platform.ark.sha256Fingerprint))")
        print("  ASK  \(platform.ask.subject)")
        print("  VCEK \(platform.vcek.subject)")
        guard let intel = try? SimulatedIntelPlatform.load(home: home) else {
            print("  Intel (tdx, sgx): not created yet; the first `--sim-format tdx|sgx` use creates it")
            return
        }
        print("  Intel root  \(intel.root.subject)  sha256:\(Hex.encode(intel.root.sha256Fingerprint))")
        print("  PCK         \(intel.pck.subject)  FMSPC \(Hex.encode(intel.pckExtension.fmspc))")
    }
}

/// `enclava sim show`: prints the simulated platform's certificates.
struct SimShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the simulated platform.")

    @Option(name: .customLong("home"), help: "Platform home folder (default: $ENCLAVA_HOME or ~/.enclava).")
    var home: String?

    mutating func run() async throws {
        let home = CLI.simHome(home)
        let platform = try SimulatedPlatform.load(home: home)
        print("simulated platform: \(home)/sim")
        for (name, cert) in [("ARK", platform.ark), ("ASK", platform.ask), ("VCEK", platform.vcek)] {
            print("  \(name)  \(cert.subject)  valid \(cert.notBefore) … \(cert.notAfter)  sha256:\(Hex.encode(cert.sha256Fingerprint))")
        }
        guard let intel = try? SimulatedIntelPlatform.load(home: home) else {
            print("  Intel (tdx, sgx): not created yet; the first `--sim-format tdx|sgx` use creates it")
            return
        }
        for (name, cert) in [("Intel root", intel.root), ("PCK CA", intel.pckCA), ("PCK", intel.pck), ("TCB signing", intel.tcbSigning)] {
            print("  \(name)  \(cert.subject)  valid \(cert.notBefore) … \(cert.notAfter)  sha256:\(Hex.encode(cert.sha256Fingerprint))")
        }
        for platform in [EvidencePlatform.tdx, .sgx] {
            if let path = intel.collateralPath(for: platform) { print("  \(platform.rawValue) collateral  \(path)") }
        }
    }
}

/// `enclava sim quote`: one simulated TDX or SGX quote in a file, for `enclava verify-evidence` (which, with
/// the simulated collateral, also evaluates the TCB status).
struct SimQuote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quote",
        abstract: "Write a simulated TDX quote v4 or SGX quote v3 (as the sim backend makes them) to a file.",
        discussion: "The measurement is the runtime's (MRENCLAVE: SHA-256; TDX: MRTD is the fixed simulated firmware and RTMR1 the runtime's SHA-384, extended). Check it with `enclava verify-evidence FILE --platform tdx --collateral $ENCLAVA_HOME/sim/intel/collateral-tdx.json --policy P.json`, P.json from `enclava policy create --allow-simulation --sim-format tdx`."
    )

    @Option(name: .customLong("sim-format"), help: "tdx or sgx.")
    var simFormat: String

    @Option(name: .customLong("report-data"), help: "REPORTDATA, 128 hex digits (default: 64 zero bytes).")
    var reportData: String?

    @Option(help: "The enclava-runtime executable whose measurement to report (default: the one beside enclava).")
    var runtime: String?

    @Option(name: .customLong("home"), help: "Platform home folder (default: $ENCLAVA_HOME or ~/.enclava).")
    var home: String?

    @Option(help: "Where to write the quote (raw bytes).")
    var out: String

    mutating func run() async throws {
        guard let format = try? SimulatedPlatform.EvidenceFormat(parsing: simFormat), format != .snp else {
            throw CLIError("--sim-format `\(simFormat)` is not one of tdx, sgx (SEV-SNP reports need their certificates; use `enclava serve`)")
        }
        var data = [UInt8](repeating: 0, count: ReportData.byteCount)
        if let reportData {
            guard let bytes = Hex.decode(reportData), bytes.count == ReportData.byteCount else {
                throw CLIError("--report-data must be \(2 * ReportData.byteCount) hex digits (\(ReportData.byteCount) bytes)")
            }
            data = bytes
        }
        try CLI.requireOutputFolder(out)
        let runtimePath = try CLI.runtimePath(runtime)
        let measurement = try format.measurement(ofExecutableAt: runtimePath)
        let registers = try format.tdxRegisters(ofExecutableAt: runtimePath)
        let intel = try SimulatedIntelPlatform.loadOrCreate(home: CLI.simHome(home))
        let quoter = try SimulatedIntelQuoter(platform: intel)
        let quote = format == .tdx
            ? try quoter.tdxQuote(mrTD: registers.mrTD, rtmrs: registers.rtmrs, reportData: data)
            : try quoter.sgxQuote(mrEnclave: measurement, reportData: data)
        do {
            try Data(quote).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out): simulated \(format == .tdx ? "TDX quote v4" : "SGX quote v3"), \(quote.count) bytes")
        print("  \(format.measurementField.padding(toLength: 9, withPad: " ", startingAt: 0)) \(Hex.encode(measurement))")
        if format == .tdx {
            for (index, rtmr) in registers.rtmrs.prefix(3).enumerated() { print("  RTMR\(index)     \(Hex.encode(rtmr))") }
        }
        if let collateral = intel.collateralPath(for: format.platform) { print("  collateral \(collateral)") }
    }
}
