import ArgumentParser

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
        version: "0.1.0",
        subcommands: [
            SimCommand.self, KeygenCommand.self, PackageCommand.self, InspectCommand.self, MeasureCommand.self,
            PolicyCommand.self, VerifyEvidenceCommand.self, CollateralCommand.self, ServeCommand.self, InferCommand.self, RunCommand.self,
        ]
    )
}
