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

/// `enclava policy create`: pins the image's manifest digest and the runtime's measurement.
struct PolicyCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Write a policy (JSON) that accepts exactly this image running on this runtime."
    )

    @Option(help: "The signed enclave image whose manifest digest to pin.")
    var image: String

    @Option(help: "The enclava-runtime executable whose measurement to pin (default: the one beside enclava).")
    var runtime: String?

    @Flag(help: "Accept evidence from the simulated platform (development only) and pin its root.")
    var allowSimulation = false

    @Flag(help: "Accept guests whose policy allows debugging (development only).")
    var allowDebug = false

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Option(help: "Where to write the policy JSON.")
    var out: String

    mutating func run() async throws {
        try CLI.requireReadableFile(image, what: "image")
        try CLI.requireOutputFolder(out)
        let opened = try EnclaveImage.open(path: image)
        let measurement = try CLI.runtimeMeasurement(try CLI.runtimePath(runtime))
        var policy = AttestationPolicy(
            allowedPlatforms: [.sevSNP], allowSimulation: allowSimulation, allowDebug: allowDebug,
            expectedMeasurements: [Hex.encode(measurement)],
            expectedManifestDigests: [Hex.encode(opened.manifestDigest)])
        if allowSimulation {
            let platform = try SimulatedPlatform.load(home: CLI.simHome(simHome))
            policy.simulatedRootFingerprints = [Hex.encode(platform.ark.sha256Fingerprint)]
        }
        try policy.write(to: out)
        print("wrote \(out)")
        print("  manifest digest  \(Hex.encode(opened.manifestDigest))")
        print("  measurement      \(Hex.encode(measurement))")
        if allowSimulation { print("  simulation       allowed (root sha256:\(policy.simulatedRootFingerprints[0]))") }
    }
}
