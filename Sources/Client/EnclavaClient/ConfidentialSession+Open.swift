import EnclavaAttestation
import EnclavaWire
import Foundation

extension ConfidentialSession {
    /// The verifier for a policy, as `enclava infer` and the C ABI choose it: a policy that allows simulation
    /// without pinning a simulated root trusts the local simulated platform's roots (`simHome`, else
    /// `$ENCLAVA_HOME`, else `~/.enclava`); any other policy gets the hardware roots only.
    /// - Parameters:
    ///   - policy: the loaded policy.
    ///   - simHome: the simulated platform home, or nil for the default.
    ///   - intelCollateral: the client's own Intel collateral (TDX, SGX).
    /// - Throws: ``SimulatedPlatformError`` when such a policy needs the local simulated platform and it is missing.
    public static func verifier(
        for policy: AttestationPolicy, simHome: String?, intelCollateral: IntelCollateralSource = IntelCollateralSource()
    ) throws -> EvidenceVerifier {
        guard policy.allowSimulation, policy.simulatedRootFingerprints.isEmpty else {
            return EvidenceVerifier(intelCollateral: intelCollateral)
        }
        let platform = try SimulatedPlatform.load(home: simHome ?? SimulatedPlatform.defaultHome())
        return EvidenceVerifier(simulatedRoots: platform.simulatedRoots(), intelCollateral: intelCollateral)
    }

    /// Reads a policy from JSON text (the content of a `P.json` file from `enclava policy create`).
    /// - Throws: ``AttestationError`` `invalidPolicy` naming the key and the problem, or ``ClientError``
    ///   `invalidPolicy` for text that is not a JSON policy object.
    public static func policy(json text: String) throws -> AttestationPolicy {
        do {
            return try JSONDecoder().decode(AttestationPolicy.self, from: Data(text.utf8))
        } catch let error as AttestationError {
            throw error
        } catch {
            throw ClientError(.invalidPolicy, "the policy is not a valid policy JSON object (\(error)); use the file "
                              + "`enclava policy create` writes", reason: "INVALID_POLICY")
        }
    }

    /// Connects to a bridge named as the CLI names it (`HOST:PORT`, `unix:PATH`, …), attests the enclave against
    /// `policy` with ``verifier(for:simHome:intelCollateral:)`` and opens a session: the path of `enclava infer`.
    /// - Throws: ``WireError`` for an endpoint that does not parse, ``SimulatedPlatformError``, ``ClientError``.
    public static func connect(endpoint: String, policy: AttestationPolicy, simHome: String? = nil,
                               intelCollateral: IntelCollateralSource = IntelCollateralSource(),
                               timeout: Duration = .seconds(60), model: String? = nil) async throws -> ConfidentialSession {
        let target = try TTRPCEndpoint(parsing: endpoint)
        let verifier = try verifier(for: policy, simHome: simHome, intelCollateral: intelCollateral)
        return try await connect(to: target, policy: policy, verifier: verifier, timeout: timeout, model: model)
    }
}
