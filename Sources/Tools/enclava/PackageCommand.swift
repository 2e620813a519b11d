import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import Foundation

/// `enclava package`: a manifest and its assets → one signed, encrypted enclave image.
struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Package a model into a signed, encrypted enclave image (.eimg)."
    )

    enum SealTarget: String, ExpressibleByArgument { case sim }

    @Option(help: "The image manifest (TOML); asset paths are relative to its folder.")
    var manifest: String

    @Option(help: "The ECDSA P-384 signing key (from `enclava keygen`).")
    var signer: String

    @Option(help: "Where to write the image.")
    var out: String

    @Option(name: .customLong("seal-for"), help: "Seal the data key to a platform so the enclave starts on its own: sim.")
    var sealFor: SealTarget?

    @Option(name: .customLong("owner-key-out"), help: "Keep the data key with the model owner: write it here (0600).")
    var ownerKeyOut: String?

    @Option(help: "The enclava-runtime whose measurement the key is sealed to (default: the one beside enclava).")
    var runtime: String?

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    mutating func run() async throws {
        try CLI.requireReadableFile(manifest, what: "manifest")
        try CLI.requireReadableFile(signer, what: "signer key")
        try CLI.requireOutputFolder(out)
        let key = try SignerKey.load(path: signer)
        let wrapping: KeyWrappingRequest
        switch (sealFor, ownerKeyOut) {
        case (.some, .some):
            throw CLIError("choose one of --seal-for and --owner-key-out, not both")
        case (.none, .none):
            throw CLIError("say who can unlock the model: --seal-for sim (local testing) or --owner-key-out FILE")
        case (.some(.sim), .none):
            let runtimePath = try CLI.runtimePath(runtime)
            let measurement = try CLI.runtimeMeasurement(runtimePath)
            let platform = try SimulatedPlatform.load(home: CLI.simHome(simHome))
            let sealingKey = try platform.sealingKey(measurement: measurement, purpose: KeyWrap.sealingPurpose)
            wrapping = .sealedForSim(sealingKey: sealingKey, measurement: measurement)
        case (.none, .some(let keyPath)):
            try CLI.requireOutputFolder(keyPath)
            wrapping = .owner(keyOutputPath: keyPath)
        }
        // Progress goes to a terminal only, so that scripts see exactly one line when something fails.
        let quiet = self.quiet || isatty(STDERR_FILENO) == 0
        let summary = try ImagePackager.package(manifestPath: manifest, signer: key, outputPath: out, wrapping: wrapping,
                                                progress: { if !quiet { CLI.note($0) } })
        guard !self.quiet else { return }
        print("wrote \(summary.outputPath) (\(summary.imageSize) bytes)")
        print("  image            \(summary.name) \(summary.version)")
        print("  manifest digest  \(summary.manifestDigestHex)")
        print("  signer           sha256:\(summary.signerFingerprint)")
        if let ownerKeyPath = summary.ownerKeyPath { print("  owner key        \(ownerKeyPath) (keep it secret)") }
        if sealFor == .sim { print("  key release      sealed to the simulated platform and this runtime's measurement") }
    }
}
