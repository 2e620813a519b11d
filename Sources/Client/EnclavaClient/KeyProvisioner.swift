import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import Foundation

/// The model owner's side of key release (DESIGN.md §7; `enclava provision`): attest the enclave with the same
/// verifier and policy code as a ``ConfidentialSession``, then send the image's data-encryption key (DEK) sealed
/// with HPKE to the key bound in that evidence (``EnclavaCrypto/KeyReleaseSealing``, purpose owner-provision:
/// `info` binds the evidence digest, the AAD the manifest digest), in `ProvisionKey` on the same connection.
///
/// Nothing derived from the key is sent unless the evidence verified and satisfied the policy, and the policy
/// must pin exactly one image (one manifest digest): a key belongs to one image, and an owner must never send it
/// to an enclave serving another. The enclave answers `KEY_MISMATCH` for a key that is not its image's (checked
/// against the signed header's key commitment before it decrypts anything), `NOT_WAITING_FOR_KEY` when it has
/// its key already, and becomes ready otherwise.
public enum KeyProvisioner {
    /// What a provisioning verified and what it changed.
    public struct Outcome: Sendable {
        /// What the enclave proved about itself before the key left.
        public let verifiedEvidence: VerifiedEvidence
        /// The enclave's state after it accepted the key (``EnclaveLifecycleState/ready``).
        public let state: EnclaveLifecycleState
        /// The model name the enclave reported (unverified display text).
        public let modelName: String
        /// The backend the enclave reported (unverified display text; trust ``verifiedEvidence``).
        public let backend: String
    }

    /// Attests the enclave at `endpoint` and provisions `dek` to it.
    /// - Parameters:
    ///   - dek: the image's 32-byte key (``EnclavaImage/OwnerKeyFile``).
    ///   - endpoint: the host bridge (or the enclave).
    ///   - policy: what evidence may receive the key; must pin exactly one manifest digest.
    ///   - verifier: the evidence verifier (as for ``ConfidentialSession/connect(to:policy:verifier:at:timeout:)``).
    ///   - time: the time at which certificates must be valid.
    ///   - timeout: the deadline of each call.
    ///   - model: on a bridge serving several models, the one to reach (sent with every call); the enclave must run
    ///     the image the policy pins for that name.
    /// - Throws: ``ClientError``: `invalidInput` (key size, policy pinning), `attestationFailed` (nothing about the
    ///   key was sent), `remote` with the enclave's reason (`KEY_MISMATCH`, `NOT_WAITING_FOR_KEY`, …).
    public static func provision(_ dek: SecureBytes, to endpoint: TTRPCEndpoint, policy: AttestationPolicy,
                                 verifier: EvidenceVerifier = EvidenceVerifier(), at time: Date = Date(),
                                 timeout: Duration = .seconds(60), model: String? = nil) async throws -> Outcome {
        try check(dek, policy: policy)
        if let model { try ConfidentialSession.checkNamed(model, in: policy) }
        let client: TTRPCClient
        do {
            client = try await TTRPCClient.connect(to: endpoint, metadata: model.map { [ConfidentialSession.modelMetadataKey: $0] } ?? [:])
        } catch let error as RPCError {
            throw ClientError.remote(error)
        }
        do {
            let outcome = try await provision(dek, using: client, policy: policy, verifier: verifier, at: time, timeout: timeout,
                                              model: model)
            await client.close()
            return outcome
        } catch {
            await client.close()
            throw error
        }
    }

    /// Attests and provisions over an existing transport (tests wrap one to watch or tamper); the caller closes it.
    /// - Throws: as ``provision(_:to:policy:verifier:at:timeout:)``.
    public static func provision(_ dek: SecureBytes, using transport: any EnclaveTransport, policy: AttestationPolicy,
                                 verifier: EvidenceVerifier = EvidenceVerifier(), at time: Date = Date(),
                                 timeout: Duration = .seconds(60), model: String? = nil) async throws -> Outcome {
        try check(dek, policy: policy)
        let (verified, answer) = try await ConfidentialSession.attest(using: transport, policy: policy, verifier: verifier,
                                                                      at: time, timeout: timeout)
        if let model {
            do { try policy.checkModel(model, in: verified) } catch let error as AttestationError {
                throw ClientError.attestationFailed(error)
            }
        }
        // Only now, with evidence that verified against the policy, is anything derived from the key made.
        let sealed: KeyReleaseSealing.Sealed
        do {
            sealed = try KeyReleaseSealing.seal(dek, to: verified.hpkePublicKey, purpose: .ownerProvision,
                                                evidenceDigest: verified.evidenceDigest, manifestDigest: verified.manifestDigest)
        } catch {
            throw ClientError(.invalidEvidenceResponse, "cannot seal the key to the enclave's verified key: \(error)")
        }
        var request = Enclava_V1_ProvisionKeyRequest()
        request.enc = Data(sealed.enc)
        request.sealedKey = Data(sealed.ciphertext)
        request.evidenceDigest = Data(verified.evidenceDigest)
        let response = try await ConfidentialSession.call(transport, .provisionKey, request,
                                                          as: Enclava_V1_ProvisionKeyResponse.self, timeout: timeout)
        return Outcome(verifiedEvidence: verified, state: EnclaveLifecycleState(response.state),
                       modelName: response.modelName.isEmpty ? answer.modelName : response.modelName,
                       backend: answer.backend)
    }

    /// Refuses, before connecting, a key that is not 32 bytes and a policy that does not pin exactly one image.
    static func check(_ dek: SecureBytes, policy: AttestationPolicy) throws {
        guard dek.count == KeyReleaseSealing.dekByteCount else {
            throw ClientError(.invalidInput, "a model key is \(KeyReleaseSealing.dekByteCount) bytes, got \(dek.count); "
                              + "use the key file `enclava package --owner-key-out` wrote")
        }
        guard policy.expectedManifestDigests.count == 1 else {
            throw ClientError(.invalidInput, "the policy pins \(policy.expectedManifestDigests.count) manifest digests "
                              + "(expected_manifest_digests); a model key belongs to one image, so the policy must pin exactly "
                              + "that image's digest: create it with `enclava policy create --image IMAGE`")
        }
    }
}
