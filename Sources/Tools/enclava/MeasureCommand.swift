import ArgumentParser
import EnclavaCrypto
import EnclavaImage
import Foundation

/// `enclava measure`: the manifest digest, recomputed from the manifest and its plaintext assets.
struct MeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Print the manifest digest an image of this manifest will carry (no key involved).",
        discussion: "Anyone holding the plaintext model and manifest gets the same digest, so measurements are reproducible."
    )

    @Option(help: "The image manifest (TOML).")
    var manifest: String

    @Option(name: .customLong("asset-root"), help: ArgumentHelp("The folder asset paths are relative to, as given to `enclava package`.",
                                                                valueName: "DIR"))
    var assetRoot: String?

    @Option(help: "Also print the measurement (SHA-384) of this enclava-runtime executable.")
    var runtime: String?

    @Flag(help: "Print JSON.")
    var json = false

    mutating func run() async throws {
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
