import ArgumentParser
import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import Foundation

/// `enclava provision`: the model owner's key release (DESIGN.md §7). Attests the enclave behind a host bridge
/// with the same verifier and policy code as `enclava infer`, then sends the image's key sealed to the key bound
/// in that evidence (``EnclavaClient/KeyProvisioner``).
struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Verify an enclave's evidence against a policy, then release the image's key to it (model owners).",
        discussion: """
            For images packaged with --owner-key-out: the enclave starts waiting for its key. Nothing derived from \
            the key leaves this machine unless the evidence verifies and satisfies the policy, which must pin exactly \
            one image (`enclava policy create --image IMAGE`). The key is sealed with HPKE to the key bound in that \
            evidence, so only that enclave can open it; the enclave checks it against the key commitment in the \
            signed image header before it decrypts anything (KEY_MISMATCH otherwise).
            """
    )

    @Option(help: "The host bridge: HOST:PORT (or unix:PATH).")
    var endpoint: String

    @Option(help: "The attestation policy (JSON) from `enclava policy create --image IMAGE`: it must pin that one image.")
    var policy: String

    @Option(name: .customLong("owner-key"), help: "The image's key file, from `enclava package --owner-key-out` (mode 0600).")
    var ownerKey: String

    @Option(name: .customLong("sim-home"), help: "Simulated platform home, for policies that allow simulation without pinning a root.")
    var simHome: String?

    @Option(help: "TDX/SGX: Intel collateral JSON (dcap-qvl layout) to verify the enclave's quote with, instead of the host's.")
    var collateral: String?

    @Option(name: .customLong("collateral-cache"), help: "TDX/SGX: a folder of Intel collateral by FMSPC (`enclava collateral import`), used before the host's.")
    var collateralCache: String?

    @Option(help: "Seconds to wait for each call (loading a large model after the key is accepted takes a while).")
    var timeout: Int = 300

    @Flag(help: "Print what was verified and the enclave's new state as JSON.")
    var json = false

    @Option(help: "On a bridge serving several models, the one whose key this is (its [image] name). Default: the bridge's only model.")
    var model: String?

    mutating func run() async throws {
        let target = try TTRPCEndpoint(parsing: endpoint)
        let loaded = try AttestationPolicy.load(path: policy)
        let dek = try Self.loadOwnerKey(ownerKey)
        let intel = try EvidenceFileFormat.intelCollateral(file: collateral, cache: collateralCache)
        let verifier = try InferCommand.verifier(for: loaded, simHome: simHome, intelCollateral: intel)
        let outcome: KeyProvisioner.Outcome
        do {
            outcome = try await KeyProvisioner.provision(dek, to: target, policy: loaded, verifier: verifier,
                                                         timeout: .seconds(max(1, timeout)),
                                                         model: model)
        } catch let error as ClientError where error.code == .attestationFailed || error.code == .invalidEvidenceResponse {
            CLI.note("enclava provision: the key was not sent")
            throw error
        }
        report(outcome)
    }

    /// Reads an owner key file, refusing one that other users can read or that is not an owner key file.
    /// - Throws: ``CLIError`` naming the file and the fix.
    static func loadOwnerKey(_ path: String) throws -> SecureBytes {
        try CLI.requireReadableFile(path, what: "owner key")
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIError("cannot read owner key \(path) (\(String(cString: strerror(errno))))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CLIError("owner key \(path) is readable or writable by other users (mode \(String(mode, radix: 8))); "
                           + "it holds the model's key: make it private with `chmod 600 \(path)`")
        }
        do {
            return try OwnerKeyFile.load(path: path)
        } catch let error as ImageError {
            throw CLIError("\(path) is not an Enclava owner key file (\(error.message)); use the file "
                           + "`enclava package --owner-key-out` wrote for this image")
        }
    }

    /// Prints what was verified before the key left, and the enclave's new state.
    func report(_ outcome: KeyProvisioner.Outcome) {
        let evidence = outcome.verifiedEvidence
        if json {
            let claims = evidence.claims.map { "\(TensorJSON.quote($0.0)): \(TensorJSON.quote($0.1))" }.joined(separator: ", ")
            print("{\"state\": \(TensorJSON.quote(outcome.state.rawValue)), \"model\": \(TensorJSON.quote(outcome.modelName)), "
                  + "\"enclave\": {\"platform\": \(TensorJSON.quote(evidence.platform.rawValue)), \"simulated\": \(evidence.isSimulated), "
                  + "\"measurement\": \(TensorJSON.quote(evidence.measurementHex)), "
                  + "\"manifest_digest\": \(TensorJSON.quote(evidence.manifestDigestHex)), \"claims\": {\(claims)}}}")
            return
        }
        print("key provisioned: the enclave is \(outcome.state.rawValue) (\(outcome.modelName))")
        print("verified enclave (before the key left):")
        // The same lines as `enclava infer`: platform (SIMULATED when it is), measurement, TCB, …, manifest digest.
        var lines = evidence.claims
        if !lines.contains(where: { $0.0 == "measurement" }) { lines.insert(("measurement", evidence.measurementHex), at: 0) }
        if !lines.contains(where: { $0.0 == "platform" }) {
            lines.insert(("platform", evidence.platform.rawValue + (evidence.isSimulated ? " (SIMULATED)" : "")), at: 0)
        }
        if !lines.contains(where: { $0.0 == "manifest digest" }) { lines.append(("manifest digest", evidence.manifestDigestHex)) }
        for (key, value) in lines { print("  \(key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)") }
    }
}
