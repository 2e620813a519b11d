import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import EnclavePlatform
import Foundation

/// The enclave's request logic behind the ttrpc handler: life cycle, evidence, sessions and the execution
/// loop. Every method checks the life-cycle state first (DESIGN.md §6); the session rules themselves are
/// in ``SessionStateMachine``.
///
/// Evidence and sessions are bound to the connection they were created on (`connection:`; in-process
/// callers without one share ``EnclavaWire/TTRPCConnectionID/inProcess``), and ``connectionClosed(_:)``
/// forgets them.
public actor EnclaveCore {
    /// What the enclave serves once its model is loaded.
    public struct Serving: Sendable {
        /// The model (or a test double).
        public let engine: any InferenceEngine
        /// SHA-384 manifest digest of the loaded image.
        public let manifestDigest: [UInt8]
        /// `[image] name`.
        public let modelName: String
        /// Worker threads (`[runtime] threads`).
        public let threads: Int
        /// Waiting requests (`[runtime] max_queue`).
        public let maxQueue: Int
        /// Requests per model run (`[runtime] max_batch`).
        public let maxBatch: Int
        /// Caps on request tensors.
        public let tensorLimits: TensorLimits
        /// The text pipeline of a `sentence-embedding` image (requests then carry texts, not tensors);
        /// nil for a `tensor` image (texts are refused).
        public let texts: TextServing?

        /// Creates a serving description.
        public init(engine: any InferenceEngine, manifestDigest: [UInt8], modelName: String,
                    threads: Int, maxQueue: Int, maxBatch: Int = 1, tensorLimits: TensorLimits = TensorLimits(),
                    texts: TextServing? = nil) {
            self.engine = engine
            self.manifestDigest = manifestDigest
            self.modelName = modelName
            self.threads = threads
            self.maxQueue = maxQueue
            self.maxBatch = maxBatch
            self.tensorLimits = tensorLimits
            self.texts = texts
        }

        /// The same description serving `engine` (and `textEngine`, when given) instead.
        public func replacing(engine: any InferenceEngine, textEngine: (any TextEngine)? = nil) -> Serving {
            Serving(engine: engine, manifestDigest: manifestDigest, modelName: modelName, threads: threads,
                    maxQueue: maxQueue, maxBatch: maxBatch, tensorLimits: tensorLimits,
                    texts: texts.map { TextServing(engine: textEngine ?? $0.engine, limits: $0.limits) })
        }
    }

    /// Byte count of a GetEvidence nonce.
    public static let nonceByteCount = 32

    private let platform: any TEEPlatform
    /// The enclave's HPKE key (sessions and `ProvisionKey` are sealed to its public half).
    let hpkeKey: X25519PrivateKey
    var health = HealthStateMachine()
    var sessions: SessionStateMachine
    private var serving: Serving?
    private var queue: InferenceQueue<InferenceJob>?
    var modelName = ""
    private var allowUnlockedMemory = false
    /// While waiting for the model key: how a released key is checked and loaded (``awaitKey(_:)``).
    var pendingActivation: ModelActivation?
    /// Whether the owner may answer that wait with `ProvisionKey` (false while a key broker is asked instead).
    var ownerProvisions = true
    /// The sealed state the host keeps (`--sealed-state host`): offered at start, taken after each release, over the
    /// control socket only.
    public nonisolated let sealedStates = SealedStateExchange()

    /// Creates the core in `starting` with a fresh HPKE key (generated here, at start; it never leaves
    /// the enclave).
    /// - Parameters:
    ///   - platform: the TEE backend that produces evidence.
    ///   - hpkeKey: the enclave's X25519 key; random unless a test chooses.
    ///   - sessionLimits: per-connection quotas and global caps of sessions and issued evidence.
    public init(platform: any TEEPlatform, hpkeKey: X25519PrivateKey = X25519PrivateKey(),
                sessionLimits: SessionStateMachine.Limits = .init()) {
        self.platform = platform
        self.hpkeKey = hpkeKey
        self.sessions = SessionStateMachine(privateKey: hpkeKey, limits: sessionLimits)
    }

    /// The current life-cycle state.
    public var state: HealthStateMachine.State { health.state }

    /// The enclave's HPKE public key (also `report_data[32:64]`).
    public var hpkePublicKey: [UInt8] { sessions.publicKey }

    // MARK: Life cycle

    /// starting → loading.
    public func beginLoading(modelName: String = "") {
        self.modelName = modelName
        health.beginLoading()
    }

    /// loading → ready: starts the worker threads.
    public func loaded(_ serving: Serving) {
        guard health.loaded() else { return }
        let engine = serving.engine
        let textEngine = serving.texts?.engine
        let acrossSessions = engine.rowIndependence.isProven
        let queue = InferenceQueue<InferenceJob>(
            threads: serving.threads, capacity: serving.maxQueue, maxBatch: serving.maxBatch,
            isCompatible: { $0.canBatch(with: $1, acrossSessions: acrossSessions) },
            process: { InferenceBatch.run($0, engine: engine, textEngine: textEngine) })
        queue.start()
        self.queue = queue
        self.serving = serving
        self.modelName = serving.modelName
    }

    /// Records that the runtime was started with `--allow-unlocked-memory`, which Health and every
    /// encrypted result then report (``MemoryProtectionReport``).
    public func setAllowUnlockedMemory(_ allowed: Bool) {
        allowUnlockedMemory = allowed
    }

    /// starting | waiting-for-key | loading → failed, with a one-line reason (never a secret).
    public func failed(_ reason: String) {
        health.failed(reason)
        pendingActivation = nil
    }

    /// → stopping: refuses new requests, lets queued ones finish, stops the workers and forgets sessions.
    public func stop() async {
        health.stop()
        if let queue { await queue.shutdown() }
        queue = nil
        sessions.removeAll()
    }

    /// Requests waiting in the queue and running on workers (for tests and logs).
    public func queuedAndRunning() -> (waiting: Int, running: Int) {
        guard let queue else { return (0, 0) }
        return (queue.waitingCount, queue.runningCount)
    }

    // MARK: Handlers

    /// Health: state, model name and backend; never secrets. Served in every state.
    public func healthResponse() -> Enclava_V1_HealthResponse {
        var response = Enclava_V1_HealthResponse()
        let wire = health.wireState
        response.state = wire.state
        response.message = wire.message
        response.modelName = modelName
        response.backend = platform.backend
        let memory = MemoryProtectionReport.current(allowUnlockedMemory: allowUnlockedMemory)
        response.memoryUnlocked = memory.isUnlocked
        response.memoryMessage = memory.message
        return response
    }

    /// GetEvidence: evidence whose report data binds the nonce, the manifest digest and the HPKE key; its
    /// digest is remembered for `connection` (within its quota) until a session is opened or a key is
    /// provisioned with it there. Served when ready and while waiting for the model key (so that its owner can
    /// verify the enclave before releasing the key).
    public func getEvidence(_ request: Enclava_V1_GetEvidenceRequest,
                            connection: TTRPCConnectionID = .inProcess) -> Result<Enclava_V1_GetEvidenceResponse, RPCError> {
        let image: (manifestDigest: [UInt8], modelName: String)
        if health.isServing, let serving {
            image = (serving.manifestDigest, serving.modelName)
        } else if health.isWaitingForKey, let pendingActivation {
            image = (pendingActivation.manifestDigest, pendingActivation.modelName)
        } else {
            return .failure(health.notServingError)
        }
        guard request.nonce.count == Self.nonceByteCount else {
            return .failure(RPCError(.invalidArgument, reason: RuntimeReason.invalidNonce,
                                     message: "the nonce is \(request.nonce.count) bytes; send exactly 32 fresh random bytes"))
        }
        if let refusal = sessions.evidenceRefusal(for: connection) { return .failure(refusal.rpcError) }
        let publicKey = sessions.publicKey
        let reportData = ReportData.make(nonce: [UInt8](request.nonce), manifestDigest: image.manifestDigest,
                                         hpkePublicKey: publicKey)
        let evidence: Evidence
        do {
            evidence = try platform.evidence(reportData: reportData)
        } catch {
            return .failure(RPCError(.internal, reason: RuntimeReason.internalError,
                                     message: "the platform could not produce evidence: \(error)"))
        }
        if let refusal = sessions.evidenceIssued(digest: SHA2.sha384(evidence.blob), to: connection) {
            return .failure(refusal.rpcError)
        }
        var response = Enclava_V1_GetEvidenceResponse()
        response.format = EvidenceFormatMapping.wireFormat(evidence.platform)
        response.evidence = Data(evidence.blob)
        response.certificates = evidence.certificates.map { Data($0) }
        if let collateral = evidence.collateral?.quote { response.collateral = Data(collateral.dcapQVLJSON) }
        response.manifestDigest = Data(image.manifestDigest)
        response.hpkePublicKey = Data(publicKey)
        response.backend = platform.backend
        response.modelName = image.modelName
        return .success(response)
    }

    /// OpenSession: an HPKE recipient context bound to evidence this enclave issued on `connection`; the
    /// session belongs to `connection` (within its quota).
    public func openSession(_ request: Enclava_V1_OpenSessionRequest,
                            connection: TTRPCConnectionID = .inProcess) -> Result<Enclava_V1_OpenSessionResponse, RPCError> {
        guard health.isServing else { return .failure(health.notServingError) }
        switch sessions.openSession(enc: [UInt8](request.enc), evidenceDigest: [UInt8](request.evidenceDigest),
                                    connection: connection) {
        case .success(let sessionID):
            var response = Enclava_V1_OpenSessionResponse()
            response.sessionID = Data(sessionID)
            return .success(response)
        case .failure(let rejection):
            return .failure(rejection.rpcError)
        }
    }

    /// Infer: session rules, then the bounded queue; the result comes back encrypted.
    public func infer(_ request: Enclava_V1_InferRequest,
                      connection: TTRPCConnectionID = .inProcess) async -> Result<Enclava_V1_InferResponse, RPCError> {
        await self.admitInfer(request, connection: connection)()
    }

    /// Infer in two steps: the session rules (sequence check and decryption) now, on the actor, so that
    /// calls admitted in order are checked in order; the returned closure queues and runs the inference.
    public func admitInfer(_ request: Enclava_V1_InferRequest, connection: TTRPCConnectionID = .inProcess)
        -> @Sendable () async -> Result<Enclava_V1_InferResponse, RPCError> {
        guard health.isServing, let serving, let queue else {
            let error = health.notServingError
            return { .failure(error) }
        }
        // Before decrypting: a plaintext that could not be locked would stop the enclave (DESIGN.md §5).
        guard LockHeadroom.admits(requestBytes: request.ciphertext.count, headroom: LockHeadroom.current()) else {
            let error = RPCError(.resourceExhausted, reason: RuntimeReason.secureMemoryExhausted,
                                 message: "the enclave cannot lock more memory for this request now (RLIMIT_MEMLOCK); "
                                     + "retry later with the same sequence number, or ask the operator to raise the limit")
            return { .failure(error) }
        }
        switch sessions.openRequest(sessionID: [UInt8](request.sessionID), sequence: request.sequence,
                                    ciphertext: [UInt8](request.ciphertext), connection: connection) {
        case .success(let opened):
            let unlocked = allowUnlockedMemory
            return { await Self.enqueue(opened, serving: serving, queue: queue, allowUnlockedMemory: unlocked) }
        case .failure(let rejection):
            let error = rejection.rpcError
            return { .failure(error) }
        }
    }

    /// Forgets the sessions and unused evidence of a connection that closed.
    public func connectionClosed(_ connection: TTRPCConnectionID) {
        sessions.connectionClosed(connection)
    }

    /// Open sessions and issued, unused evidence over all connections (for tests and logs).
    public func sessionTableCounts() -> (sessions: Int, issuedEvidence: Int) {
        (sessions.sessionCount, sessions.issuedEvidenceCount)
    }

    /// Shutdown: marks the enclave stopping so that new requests are refused. The caller stops the server
    /// and then calls ``stop()``.
    /// - Returns: false when a shutdown was already under way.
    public func beginShutdown() -> Bool {
        health.stop()
    }

    /// Parses and validates the decrypted payload (off the actor), then queues it; a full queue is
    /// answered at once.
    private nonisolated static func enqueue(_ opened: SessionStateMachine.OpenedRequest, serving: Serving,
                                            queue: InferenceQueue<InferenceJob>,
                                            allowUnlockedMemory: Bool) async -> Result<Enclava_V1_InferResponse, RPCError> {
        let prepared = InferenceJob.prepare(opened.plaintext, limits: serving.tensorLimits, textLimits: serving.texts?.limits)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Enclava_V1_InferResponse, RPCError>, Never>) in
            var job = InferenceJob(request: opened, prepared: prepared) { continuation.resume(returning: $0) }
            job.allowUnlockedMemory = allowUnlockedMemory
            if !queue.tryEnqueue(job) {
                continuation.resume(returning: .failure(RPCError(
                    .resourceExhausted, reason: RuntimeReason.queueFull,
                    message: "the enclave's request queue is full (\(serving.maxQueue) waiting); retry later "
                        + "with the next sequence number")))
            }
        }
    }
}
