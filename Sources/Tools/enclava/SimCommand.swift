import ArgumentParser
import EnclavaCrypto
import EnclavaAttestation
import Foundation

/// `enclava sim …`: the simulated platform (a local stand-in for AMD's key chain and platform secret).
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Manage the simulated TEE platform used by --backend sim.",
        subcommands: [SimInit.self, SimShow.self]
    )
}

/// `enclava sim init`: creates the simulated ARK → ASK → VCEK chain and platform secret.
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
        CLI.note("creating simulated platform under \(home)/sim (RSA-4096 keys take a few seconds)…")
        let platform = try SimulatedPlatform.initialize(home: home, force: force)
        print("simulated platform ready: \(home)/sim")
        print("  ARK  \(platform.ark.subject)  sha256:\(Hex.encode(platform.ark.sha256Fingerprint))")
        print("  ASK  \(platform.ask.subject)")
        print("  VCEK \(platform.vcek.subject)")
        let intel = try SimulatedIntelPlatform.load(home: home)
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
