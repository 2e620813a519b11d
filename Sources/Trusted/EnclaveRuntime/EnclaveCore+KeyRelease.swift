import EnclavaCrypto
import EnclavaWire
import Foundation

/// How the model key reaches the core (DESIGN.md §7): ``awaitKey(_:)`` parks it in `waiting-for-key`,
/// ``provisionKey(_:connection:)`` is the owner's release, and ``activate(dek:with:)`` is the one step every
/// key source ends in.
extension EnclaveCore {
    /// starting → waiting-for-key: the image is open and verified, its key arrives later (``KeySource/owner``,
    /// ``KeySource/broker``). GetEvidence is served from now on (binding `activation`'s manifest digest), sessions
    /// are not.
    /// - Parameters:
    ///   - activation: how the released key is checked and loaded.
    ///   - ownerProvisions: whether `ProvisionKey` may answer the wait (``KeySource/owner``); false for a key the
    ///     enclave asks a broker for (`ProvisionKey` is then `NOT_WAITING_FOR_KEY`: "released another way").
    public func awaitKey(_ activation: ModelActivation, ownerProvisions: Bool = true) {
        guard health.awaitKey(fromBroker: !ownerProvisions) else { return }
        pendingActivation = activation
        self.ownerProvisions = ownerProvisions
        modelName = activation.modelName
    }

    /// DEK → decrypt → load → ready, the one path every ``KeySource`` ends in: starting | waiting-for-key →
    /// loading (Health answers meanwhile; the model is loaded off the actor) → ready, or → failed with the
    /// loader's one-line reason. A key that arrived from outside the enclave (owner, broker) must have passed
    /// ``ModelActivation/checkKey`` first; a key unsealed from the image's own sealed wrapping needs no check.
    /// Once ready, ``ModelActivation/activated`` gets the key (a released key is kept as sealed state there).
    /// - Parameters:
    ///   - dek: the image's data-encryption key; this call's copies are wiped when it returns.
    ///   - activation: how the image is decrypted and loaded.
    /// - Returns: nil once ready, or why it is not (the core is then failed, or was stopped meanwhile).
    public func activate(dek: SecureBytes, with activation: ModelActivation) async -> RuntimeError? {
        guard health.beginLoading() else {
            return RuntimeError(.modelInvalid, "the enclave cannot load a model key now (it is \(health.state))")
        }
        pendingActivation = nil
        modelName = activation.modelName
        let serving: Serving
        do {
            serving = try await activation.load(dek)
        } catch {
            let failure = error as? RuntimeError ?? RuntimeError(.modelInvalid, "cannot load the model: \(error)")
            failed(failure.message)
            return failure
        }
        loaded(serving)
        guard health.isServing else {
            return RuntimeError(.modelInvalid, "the enclave stopped while its model was loading")
        }
        activation.activated(dek)
        return nil
    }

    /// ProvisionKey: the owner's release of the model key (`enclava provision`). Checked in this order, and the
    /// first rule broken answers (each with its stable reason):
    /// 1. the enclave waits for its owner's key → else `FAILED_PRECONDITION` `NOT_WAITING_FOR_KEY` (ready, loading
    ///    a key already, sealed image, or a key broker releases it), nothing changed;
    /// 2. the request names evidence issued on this connection and unused → else `UNKNOWN_EVIDENCE`;
    /// 3. a 32-byte `enc` and a 48-byte sealed key → else `INVALID_ARGUMENT` `INVALID_ENCAPSULATED_KEY`;
    /// 4. the key opens with this enclave's HPKE key for that evidence and this image
    ///    (``EnclavaCrypto/KeyReleaseSealing``, purpose owner-provision) → else `KEY_UNSEALING_FAILED`, nothing
    ///    changed; from here on the evidence is used up (single use);
    /// 5. the key is this image's key (the signed header's key commitment), checked before anything is decrypted
    ///    → else `KEY_MISMATCH`, and the enclave still waits for its key;
    /// 6. the model decrypts and loads → ready (the answer carries the new state), else `MODEL_LOAD_FAILED`.
    public func provisionKey(_ request: Enclava_V1_ProvisionKeyRequest,
                             connection: TTRPCConnectionID = .inProcess) async -> Result<Enclava_V1_ProvisionKeyResponse, RPCError> {
        guard health.isWaitingForKey, ownerProvisions, let activation = pendingActivation else {
            return .failure(notWaitingForKeyError)
        }
        let evidenceDigest = [UInt8](request.evidenceDigest)
        guard sessions.hasIssued(evidenceDigest: evidenceDigest, to: connection) else {
            return .failure(RPCError(.failedPrecondition, reason: RuntimeReason.unknownEvidence,
                                     message: "ProvisionKey must name evidence this enclave issued on this connection and "
                                         + "that was not used yet (call GetEvidence first, verify it, and seal the key to its "
                                         + "HPKE key); nothing was changed"))
        }
        let sealedKeyByteCount = KeyReleaseSealing.dekByteCount + 16
        guard request.enc.count == SessionStateMachine.encapsulatedKeyByteCount, request.sealedKey.count == sealedKeyByteCount else {
            return .failure(RPCError(.invalidArgument, reason: RuntimeReason.invalidEncapsulatedKey,
                                     message: "ProvisionKey needs a 32-byte HPKE enc and a \(sealedKeyByteCount)-byte sealed key "
                                         + "(got \(request.enc.count) and \(request.sealedKey.count) bytes); nothing was changed"))
        }
        let dek: SecureBytes
        do {
            dek = try KeyReleaseSealing.open(.init(enc: [UInt8](request.enc), ciphertext: [UInt8](request.sealedKey)),
                                             privateKey: hpkeKey, purpose: .ownerProvision,
                                             evidenceDigest: evidenceDigest, manifestDigest: activation.manifestDigest)
        } catch {
            return .failure(RPCError(.invalidArgument, reason: RuntimeReason.keyUnsealingFailed,
                                     message: "the sealed key does not open with this enclave's key for the evidence it names "
                                         + "and this image (sealed to other evidence, another enclave or another image, or "
                                         + "altered); nothing was changed: seal it again to fresh evidence from this enclave"))
        }
        sessions.useEvidence(digest: evidenceDigest, connection: connection)
        do {
            try activation.checkKey(dek)
        } catch {
            return .failure(RPCError(.invalidArgument, reason: RuntimeReason.keyMismatch,
                                     message: "the key is not this image's key (its commitment in the signed image header "
                                         + "differs); nothing was decrypted and the enclave still waits for its key: provision "
                                         + "the key file written when this image was packaged (--owner-key-out)"))
        }
        if let failure = await activate(dek: dek, with: activation) {
            return .failure(RPCError(.internal, reason: RuntimeReason.modelLoadFailed,
                                     message: "the key matched, but the enclave could not load its model: \(failure.message)"))
        }
        var response = Enclava_V1_ProvisionKeyResponse()
        response.state = health.wireState.state
        response.modelName = activation.modelName
        return .success(response)
    }

    /// The refusal of a `ProvisionKey` that arrives when the enclave does not wait for a key.
    private var notWaitingForKeyError: RPCError {
        let now: String
        switch health.state {
        case .ready: now = "it is ready: it has its model key already"
        case .loading: now = "it is loading a model key it accepted already"
        case .starting: now = "it is still starting"
        case .failed(let reason): now = "it failed: \(reason)"
        case .stopping: return health.notServingError
        case .waitingForKey: now = "its key is released another way"
        }
        return RPCError(.failedPrecondition, reason: RuntimeReason.notWaitingForKey,
                        message: "the enclave is not waiting for a model key (\(now)); nothing was changed")
    }
}
