import ArgumentParser
import EnclavaCrypto
import EnclavaImage
import Foundation

/// `enclava measure`: the manifest digest, recomputed from the manifest and its plaintext assets; or, with
/// `--snp-launch` / `--tdx`, the measurement a confidential VM will report, computed before it boots.
struct MeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Print the manifest digest an image will carry, or a confidential VM's launch measurement.",
        discussion: """
            Anyone holding the plaintext model and manifest gets the same digest, so measurements are reproducible.
            --snp-launch prints the SEV-SNP launch MEASUREMENT (hex, 48 bytes) of OVMF, the kernel hashes of a direct \
            kernel boot (--bundle DIR, or --kernel/--initrd/--append) and one VMSA per vCPU, as AMD's SEV-SNP ABI \
            spec and virtee's sev-snp-measure compute it. --tdx prints MRTD, the TDVF pages as the TDX module \
            measures them; RTMR0-2 are not computed (they depend on the ACPI tables and TD HOB QEMU builds).
            """
    )

    @Option(help: "The image manifest (TOML).")
    var manifest: String?

    @OptionGroup(title: "Launch measurement")
    var launch: LaunchMeasureOptions

    @Option(name: .customLong("asset-root"), help: ArgumentHelp("The folder asset paths are relative to, as given to `enclava package`.",
                                                                valueName: "DIR"))
    var assetRoot: String?

    @Option(help: "Also print the measurement (SHA-384) of this enclava-runtime executable.")
    var runtime: String?

    @Flag(help: "Print JSON.")
    var json = false

    mutating func run() async throws {
        if launch.requested {
            guard manifest == nil, runtime == nil else {
                throw CLIError("--manifest and --runtime measure an image; leave them out with --snp-launch or --tdx")
            }
            return try printLaunch(launch.compute())
        }
        guard let manifest else { throw CLIError("give --manifest (an image's digest), --snp-launch or --tdx") }
        try CLI.requireReadableFile(manifest, what: "manifest")
        let measured = try ManifestDigest.measure(manifestPath: manifest, assetRoot: assetRoot)
        var runtimeMeasurement: String?
        if let runtime {
            runtimeMeasurement = Hex.encode(try CLI.runtimeMeasurement(try CLI.runtimePath(runtime)))
        }
        if json {
            struct Output: Encodable {
                let name: String, version: String, manifest_digest: String
                let assets: [[String: String]]
                let runtime_measurement: String?
            }
            let assets = measured.assets.map {
                ["name": $0.name, "role": $0.role.rawValue, "sha256": Hex.encode($0.sha256), "size": String($0.size)]
            }
            print(try CLI.json(Output(name: measured.manifest.image.name, version: measured.manifest.image.version,
                                      manifest_digest: measured.digestHex, assets: assets,
                                      runtime_measurement: runtimeMeasurement)))
        } else {
            print(measured.digestHex)
            if let runtimeMeasurement { print("runtime measurement: \(runtimeMeasurement)") }
        }
    }
}

extension MeasureCommand {
    /// `--json` output of a launch measurement.
    private struct LaunchJSON: Encodable {
        let platform: String, measurement: String, mrtd: String?
        let inputs: [String: String]
    }

    /// Prints a launch measurement: the hex value alone (SEV-SNP), `MRTD <hex>` (TDX), or JSON.
    private func printLaunch(_ result: LaunchMeasureOptions.Result) throws {
        switch result {
        case .snp(let measurement, let inputs):
            if json {
                print(try CLI.json(LaunchJSON(platform: "snp", measurement: Hex.encode(measurement), mrtd: nil, inputs: inputs)))
            } else {
                print(Hex.encode(measurement))
            }
        case .tdx(let mrtd, let inputs):
            if json {
                print(try CLI.json(LaunchJSON(platform: "tdx", measurement: Hex.encode(mrtd), mrtd: Hex.encode(mrtd), inputs: inputs)))
            } else {
                print("MRTD \(Hex.encode(mrtd))")
            }
            CLI.note("note: RTMR0-2 are not computed (they depend on QEMU's ACPI tables and TD HOB); pin them from "
                     + "a booted TD's evidence with `enclava policy create --from-evidence` or --rtmr")
        }
    }
}
