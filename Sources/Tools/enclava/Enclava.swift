import ArgumentParser
import Foundation
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
            PolicyCommand.self, VerifyEvidenceCommand.self, CollateralCommand.self, ServeCommand.self, ProvisionCommand.self,
            InferCommand.self, RunCommand.self, KeyBrokerCommand.self, VMCommand.self, ProxyCommand.self,
        ]
    )

    /// Runs the command; with `--json`, a failure is printed as `{"error": {"code", "message"}}` on standard
    /// output (scripts that read JSON get JSON either way) as well as the usual one line on standard error.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let status = exitCode(for: error)
            // ExitCode: the command already printed its own (JSON) verdict and only sets the status.
            if status != .success, !(error is ExitCode), CommandLine.arguments.dropFirst().contains("--json") {
                let report = CLIErrorReport(error, message: message(for: error), usage: status.rawValue == 64)
                print(report.json)
                FileHandle.standardError.write(Data("Error: \(report.message)\n".utf8))   // the same line as without --json
                Foundation.exit(status.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// `enclava version`: the version of this build (also `enclava --version`).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of this build.")

    func run() {
        print("enclava \(EnclavaVersion.current)")
    }
}
