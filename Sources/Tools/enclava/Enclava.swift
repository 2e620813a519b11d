import ArgumentParser
import EnclavaWire

/// `enclava`: package models into signed enclave images, launch them, attest and talk to them.
@main
struct Enclava: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enclava",
        abstract: "Confidential AI inference inside hardware TEEs (SEV-SNP, TDX, SGX) and in simulation.",
        discussion: """
            Typical local flow (simulation):
              enclava sim init
              enclava keygen --out signer.pem
              enclava package --manifest Manifests/fraud-detector/manifest.toml --signer signer.pem \\
                  --out fraud.eimg --seal-for sim
              enclava policy create --image fraud.eimg --allow-simulation --out policy.json
              enclava serve --image fraud.eimg --backend sim --listen 127.0.0.1:7000 &
              enclava infer --endpoint 127.0.0.1:7000 --policy policy.json --input features=@input.json
            """,
        version: "enclava \(EnclavaVersion.current)",
        subcommands: [
            VersionCommand.self,
            SimCommand.self, KeygenCommand.self, PackageCommand.self, InspectCommand.self, MeasureCommand.self,
            PolicyCommand.self, VerifyEvidenceCommand.self, CollateralCommand.self, ServeCommand.self, InferCommand.self, RunCommand.self,
        ]
    )
}

/// `enclava version`: the version of this build (also `enclava --version`).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of this build.")

    func run() {
        print("enclava \(EnclavaVersion.current)")
    }
}
