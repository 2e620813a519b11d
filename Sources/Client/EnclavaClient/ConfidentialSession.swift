import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import Foundation
import SwiftProtobuf

/// An attested, encrypted session with one enclave (DESIGN.md §3).
///
/// ``connect(to:policy:verifier:at:timeout:)`` sends a fresh nonce, verifies the evidence against the
/// policy — only a ``VerifiedEvidence`` can open a session — sets up HPKE to the verified key bound to that
/// evidence, and opens the session. ``infer(_:texts:)`` then encrypts each request under the next sequence
/// number and decrypts its response.
///
/// ``runInference(model:inputs:)`` (and its `texts:` and single-`input:` forms) is the call in the user's terms:
/// a model name and ``Tensor`` values; `infer(_:texts:)` is the wire-level call it rests on.
///
/// A session that fails to decrypt (a tampered request the enclave refused, or a response this side
/// refused) cannot be used again: open a new one.
public actor ConfidentialSession {
    /// What the enclave proved about itself.
    public nonisolated let verifiedEvidence: VerifiedEvidence
    /// The enclave's session id (16 bytes).
    public nonisolated let sessionID: [UInt8]
    /// The model name the enclave reported (unverified display text).
    public nonisolated let modelName: String
    /// The model this session was opened for by name (`connect(…, model:)`): the enclave runs the image the policy
    /// pins under that name (checked before the session was opened). Nil: the bridge's only model.
    public nonisolated let verifiedModel: String?
    /// The backend the enclave reported (unverified display text; trust ``verifiedEvidence``).
    public nonisolated let backend: String

    let transport: any EnclaveTransport
    let timeout: Duration
    var sender: HPKE.Sender
    let schedule: SessionKeySchedule
    var nextSequence: UInt64 = 0
    var unusableReason: String?
    var memoryUnlockedReported = false
    var busy = false
    /// The model's input names, once ``modelInputNames()`` asked for them.
    var inputNames: [String]?
    var waiters: [CheckedContinuation<Void, Never>] = []

    init(transport: any EnclaveTransport, verifiedEvidence: VerifiedEvidence, sessionID: [UInt8],
         sender: HPKE.Sender, schedule: SessionKeySchedule, modelName: String, backend: String, timeout: Duration,
         verifiedModel: String? = nil) {
        self.transport = transport
        self.verifiedModel = verifiedModel
        self.verifiedEvidence = verifiedEvidence
        self.sessionID = sessionID
        self.sender = sender
        self.schedule = schedule
        self.modelName = modelName
        self.backend = backend
        self.timeout = timeout
    }

    /// Connects to an enclave (or a host bridge in front of one), attests it and opens a session.
    /// - Parameters:
    ///   - endpoint: `.unix(path)` or `.tcp(host:port:)`.
    ///   - policy: what evidence to accept.
    ///   - verifier: the evidence verifier (pass the simulated ARK for local simulation, and the client's own
    ///     Intel collateral — a file or a cache folder — in `intelCollateral`; TDX and SGX evidence verifies only
    ///     with collateral, from there or relayed by the host).
    ///   - time: the time at which certificates must be valid.
    ///   - timeout: the deadline of each call.
    ///   - model: the model to reach on a bridge that serves several (its image's `[image] name`), sent with every
    ///     call; the enclave must then run the image the policy's `models` pins for that name. `nil`: the bridge's
    ///     only model.
    /// - Throws: ``ClientError`` (`attestationFailed` with the verifier's code — `MODEL_MISMATCH` when the host
    ///   routed `model` to another image, `MODEL_NOT_PINNED` when the policy names no such model — `remote`, …).
    public static func connect(to endpoint: TTRPCEndpoint, policy: AttestationPolicy,
                               verifier: EvidenceVerifier = EvidenceVerifier(), at time: Date = Date(),
                               timeout: Duration = .seconds(60), model: String? = nil) async throws -> ConfidentialSession {
        if let model { try Self.checkNamed(model, in: policy) }
        let client: TTRPCClient
        do {
            client = try await TTRPCClient.connect(to: endpoint, metadata: model.map { [modelMetadataKey: $0] } ?? [:])
        } catch let error as RPCError {
            throw ClientError.remote(error)
        }
        do {
            return try await connect(using: client, policy: policy, verifier: verifier, at: time, timeout: timeout,
                                     model: model)
        } catch {
            await client.close()
            throw error
        }
    }

    /// Attests an enclave and opens a session over an existing transport (tests wrap one to tamper).
    /// The session closes the transport in ``close()``. With `model`, the transport must send the name itself
    /// (``TTRPCClient/connect(to:maxFrameBytes:group:connectTimeout:logger:metadata:)``); the enclave must run the
    /// image the policy pins for that name, checked before the session is opened.
    /// - Throws: ``ClientError``.
    public static func connect(using transport: any EnclaveTransport, policy: AttestationPolicy,
                               verifier: EvidenceVerifier = EvidenceVerifier(), at time: Date = Date(),
                               timeout: Duration = .seconds(60), model: String? = nil) async throws -> ConfidentialSession {
        if let model { try Self.checkNamed(model, in: policy) }
        let (verified, answer) = try await attest(using: transport, policy: policy, verifier: verifier, at: time,
                                                  timeout: timeout)
        if let model {
            do { try policy.checkModel(model, in: verified) } catch let error as AttestationError {
                throw ClientError.attestationFailed(error)
            }
        }
        let info = SessionKeySchedule.info(evidenceDigest: verified.evidenceDigest)
        let sender: HPKE.Sender
        let schedule: SessionKeySchedule
        do {
            sender = try HPKE.Sender(recipientPublicKey: verified.hpkePublicKey, info: info)
            schedule = try SessionKeySchedule(sender: sender)
        } catch {
            throw ClientError(.invalidEvidenceResponse, "cannot set up HPKE to the enclave's verified key: \(error)")
        }
        var open = Enclava_V1_OpenSessionRequest()
        open.enc = Data(sender.encapsulatedKey)
        open.evidenceDigest = Data(verified.evidenceDigest)
        let opened = try await call(transport, .openSession, open, as: Enclava_V1_OpenSessionResponse.self,
                                    timeout: timeout)
        guard opened.sessionID.count == 16 else {
            throw ClientError(.invalidEvidenceResponse,
                              "the enclave returned a \(opened.sessionID.count)-byte session id; expected 16")
        }
        return ConfidentialSession(transport: transport, verifiedEvidence: verified, sessionID: [UInt8](opened.sessionID),
                                   sender: sender, schedule: schedule, modelName: answer.modelName,
                                   backend: answer.backend, timeout: timeout, verifiedModel: model)
    }

    /// Closes the transport. The session cannot be used afterwards.
    public func close() async {
        if unusableReason == nil { unusableReason = "the session was closed" }
        await transport.close()
    }

    /// Whether the session can still send requests.
    public var isUsable: Bool { unusableReason == nil }

    /// The sequence number the next request will carry.
    public var nextRequestSequence: UInt64 { nextSequence }

    /// Sends a fresh 32-byte nonce with GetEvidence and verifies the answer against `policy`: the one attestation
    /// step of every client that sends the enclave anything (a session, or the owner's key in ``KeyProvisioner``).
    /// - Throws: ``ClientError`` `remote` or `attestationFailed`/`invalidEvidenceResponse`.
    static func attest(using transport: any EnclaveTransport, policy: AttestationPolicy, verifier: EvidenceVerifier,
                       at time: Date, timeout: Duration) async throws -> (VerifiedEvidence, Enclava_V1_GetEvidenceResponse) {
        let nonce = SecureRandom.bytes(count: 32)
        var evidenceRequest = Enclava_V1_GetEvidenceRequest()
        evidenceRequest.nonce = Data(nonce)
        let answer = try await call(transport, .getEvidence, evidenceRequest,
                                    as: Enclava_V1_GetEvidenceResponse.self, timeout: timeout)
        return (try verify(answer, nonce: nonce, policy: policy, verifier: verifier, at: time), answer)
    }

    static func verify(_ answer: Enclava_V1_GetEvidenceResponse, nonce: [UInt8], policy: AttestationPolicy,
                       verifier: EvidenceVerifier, at time: Date) throws -> VerifiedEvidence {
        guard let platform = EvidenceFormatMapping.platform(answer.format) else {
            throw ClientError(.invalidEvidenceResponse, "the enclave sent evidence in an unknown format (\(answer.format))")
        }
        var evidence = Evidence(platform: platform, blob: [UInt8](answer.evidence),
                                certificates: answer.certificates.map { [UInt8]($0) })
        if !answer.collateral.isEmpty {
            // Untrusted like the rest of the answer: every part of it is signed and checked by the verifier.
            // Collateral that does not parse, or lacks a part, is refused rather than dropped; collateral left out
            // is refused by the verifier too (COLLATERAL_MISSING) unless the client holds its own
            // (`EvidenceVerifier(intelCollateral:)`), so the host cannot switch the QE Identity check off.
            do {
                evidence.collateral = EvidenceCollateral(quote: try QuoteCollateral(dcapQVLJSON: [UInt8](answer.collateral)))
            } catch let error as AttestationError {
                throw ClientError.attestationFailed(error)
            }
        }
        do {
            return try verifier.verify(evidence, nonce: nonce, manifestDigest: [UInt8](answer.manifestDigest),
                                       hpkePublicKey: [UInt8](answer.hpkePublicKey), policy: policy, at: time)
        } catch let error as AttestationError {
            throw ClientError.attestationFailed(error)
        }
    }

    static func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ transport: any EnclaveTransport, _ method: EnclaveService.Method, _ request: Request,
        as type: Response.Type, timeout: Duration
    ) async throws -> Response {
        do {
            return try await transport.call(method, request, as: type, timeout: timeout)
        } catch let error as RPCError {
            throw ClientError.remote(error)
        }
    }

    /// The ttrpc metadata key that names the model a call is for (the bridge routes by it).
    public static let modelMetadataKey = "enclava-model"

    /// Refuses, before anything is sent, a model name the policy does not pin.
    static func checkNamed(_ model: String, in policy: AttestationPolicy) throws {
        do { try policy.requireModel(model) } catch let error as AttestationError {
            throw ClientError.attestationFailed(error)
        }
    }
}
