import EnclavaCrypto
import EnclavaImage
import EnclavaKeyBroker
import EnclavaWire
import EnclavePlatform
import Logging

/// The enclave's side of a key broker release (DESIGN.md §7, ``KeySource/broker``): the runtime waits in
/// `waiting-for-key` and asks the broker itself, through the host bridge's forwarding socket (`--key-broker
/// unix:PATH`), in the request → challenge → attestation → response shape (``EnclavaKeyBroker/KeyBrokerClient``):
/// the broker's nonce and a fresh HPKE key of this release are bound in this platform's evidence, and the answer
/// opens only with that key. The released key passes the image's key commitment (``ModelActivation/checkKey``)
/// before the one activation, which then leaves it as sealed state for the next start.
///
/// While the broker cannot be reached, refuses, or answers something unusable, the runtime keeps waiting and asks
/// again with a growing delay (``BrokerBackoff``); `Health` says `waiting-for-key` meanwhile. A refusal's reason
/// is in the broker's audit log, never in the enclave's.
extension EnclaveRuntime {
    /// Refuses, before anything is bound, a broker image started without a way to reach the broker.
    /// - Throws: ``RuntimeError`` `.keyReleaseUnsupported`.
    static func requireBroker(for source: KeySource, options: RuntimeOptions) throws {
        guard source == .broker, brokerEndpoint(options) == nil else { return }
        throw RuntimeError(.keyReleaseUnsupported, "the image's key is released by a key broker ([keys] release = "
                           + "\"broker\"), and no --key-broker was given; run it under `enclava serve "
                           + "--key-broker HOST:PORT`, which forwards the enclave's connections to that broker only")
    }

    /// Where the broker is reached: the bridge's forwarding socket (`unix:PATH`), the host's vsock port inside a VM
    /// (`vsock:2:PORT`), `tcp:` for tests. Nil for no `--key-broker`.
    static func brokerEndpoint(_ options: RuntimeOptions) -> TTRPCEndpoint? { options.keyBroker }

    /// Waits for the key and starts asking the broker (in the background: the runtime serves Health meanwhile).
    func releaseFromBroker(image: EnclaveImage, platform: any TEEPlatform, options: RuntimeOptions,
                           activation: ModelActivation) async {
        guard let endpoint = Self.brokerEndpoint(options) else { return }   // refused at start (requireBroker)
        await core.awaitKey(activation, ownerProvisions: false)
        logger.notice("waiting for the model key: asking the key broker through the host bridge",
                      metadata: ["model": "\(image.manifest.image.name)", "key_broker": "\(endpoint)"])
        let request = BrokerRequest(endpoint: endpoint, manifestDigest: image.manifestDigest,
                                    imageName: image.manifest.image.name, platform: platform)
        let core = self.core
        let logger = self.logger
        setKeyRelease(Task {
            await Self.askBroker(request, activation: activation, core: core, logger: logger)
        })
    }

    /// What one release asks for, and where.
    struct BrokerRequest: Sendable {
        let endpoint: TTRPCEndpoint
        let manifestDigest: [UInt8]
        let imageName: String
        let platform: any TEEPlatform
    }

    /// Asks until a key matches and activates, the core stops waiting, or the task is cancelled (shutdown).
    static func askBroker(_ request: BrokerRequest, activation: ModelActivation, core: EnclaveCore, logger: Logger) async {
        var backoff = BrokerBackoff()
        var lastFailure: String?
        while !Task.isCancelled, await core.state == .waitingForKey {
            let failure: (code: String, message: String)
            do {
                let dek = try await KeyBrokerClient.requestDEK(
                    from: request.endpoint, manifestDigest: request.manifestDigest, imageName: request.imageName,
                    backend: request.platform.backend) { reportData in
                        try request.platform.evidence(reportData: reportData)
                    }
                if (try? activation.checkKey(dek)) != nil {
                    logger.info("the key broker released the model key; loading", metadata: ["model": "\(request.imageName)"])
                    if let loadFailure = await core.activate(dek: dek, with: activation) {
                        logger.error("the released key matched, but the model did not load",
                                     metadata: ["reason": "\(loadFailure.message)"])
                    }
                    return
                }
                failure = (Self.brokerKeyMismatch, "\(Self.brokerKeyMismatch): the key broker released a key that is not "
                           + "this image's key (its commitment in the signed image header differs); nothing was decrypted: "
                           + "the broker's operator must `enclava keybroker add` the key file written when this image was "
                           + "packaged")
            } catch let error as KeyBrokerClientError {
                failure = (error.code.rawValue, error.description)
            } catch {
                failure = ("KEY_BROKER_ERROR", "\(error)")
            }
            let delay = backoff.next()
            let metadata: Logger.Metadata = ["code": "\(failure.code)", "retry_in_ms": "\(delay.milliseconds)"]
            if failure.code != lastFailure {
                // One line per change of reason; the same reason again is logged at debug level only.
                logger.warning("no model key from the key broker yet (\(failure.message)); still waiting, asking again",
                               metadata: metadata)
                lastFailure = failure.code
            } else {
                logger.debug("no model key from the key broker yet (\(failure.message))", metadata: metadata)
            }
            try? await Task.sleep(for: delay)
        }
    }

    /// The log code of a broker answer that opened but is not this image's key.
    static let brokerKeyMismatch = "KEY_MISMATCH"
}

/// The delay before asking the broker again: 250 ms, doubling, at most 10 s (a restarted broker is asked again
/// within 10 s; a broker that stays down costs one connection attempt per 10 s).
struct BrokerBackoff: Sendable {
    /// The first delay.
    static let initial: Duration = .milliseconds(250)
    /// The longest delay.
    static let maximum: Duration = .seconds(10)
    private var current: Duration = BrokerBackoff.initial

    /// The delay to wait now; the next one doubles, up to ``maximum``.
    mutating func next() -> Duration {
        let delay = current
        current = min(current * 2, Self.maximum)
        return delay
    }
}

extension Duration {
    /// Whole milliseconds, for log lines.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
