import EnclavaWire
import Foundation

/// The enclave's side of "the host keeps the sealed state" (DESIGN.md §7; runtime `--sealed-state host`): a
/// confidential VM cannot write the host's files, so the blob crosses the private control channel instead.
///
/// * At start the runtime waits (bounded) for the host's ``offer(_:)`` (`OfferSealedState`), tries it, and answers
///   the offer with the outcome (``reply(_:)``). Only the first offer counts; one that comes after the wait ended, or
///   a second one, is answered `NOT_WAITING` and changes nothing. A host that offers nothing only delays the start
///   by the wait: the release goes ahead.
/// * After each release the runtime ``keep(_:)``s the new blob; the host fetches it with ``take(after:waitMilliseconds:)``
///   (`TakeSealedState`, a long poll) and stores it. Health carries the ``generation`` so a host can tell.
///
/// The blob is ciphertext only this platform opens; nothing here is secret. Every wait is bounded.
public actor SealedStateExchange {
    /// An offer the runtime is trying.
    public struct Offer: Sendable {
        /// The blob the host kept (empty: none).
        public let blob: [UInt8]
    }

    private enum Phase {
        /// Waiting for the first offer (the runtime may or may not be waiting for it yet).
        case open
        /// An offer came before the runtime asked for it.
        case offered(Offer, CheckedContinuation<Enclava_V1_OfferSealedStateResponse, Never>)
        /// The runtime is trying an offer; the offer call waits for the outcome.
        case trying(CheckedContinuation<Enclava_V1_OfferSealedStateResponse, Never>)
        /// Offers are no longer taken.
        case closed
    }

    private var phase = Phase.open
    private var runtimeWaiter: CheckedContinuation<Offer?, Never>?
    private var blob: [UInt8] = []
    /// How many blobs the enclave has sealed since it started (0: none).
    public private(set) var generation: UInt64 = 0
    private var takers: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextTaker = 0

    /// Longest `TakeSealedState` wait.
    public static let maxTakeWaitMilliseconds: UInt32 = 60_000

    public init() {}

    // MARK: Offer (host → enclave, at start)

    /// The runtime waits up to `timeout` for the host's offer; nil when none came (offers are closed then).
    public func awaitOffer(timeout: Duration) async -> Offer? {
        switch phase {
        case .offered(let offer, let reply):
            phase = .trying(reply)
            return offer
        case .trying, .closed:
            return nil
        case .open:
            break
        }
        let expiry = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expireWait()
        }
        let offer = await withCheckedContinuation { (continuation: CheckedContinuation<Offer?, Never>) in
            runtimeWaiter = continuation
        }
        expiry.cancel()
        return offer
    }

    private func expireWait() {
        guard case .open = phase, let waiter = runtimeWaiter else { return }
        runtimeWaiter = nil
        phase = .closed
        waiter.resume(returning: nil)
    }

    /// The host's `OfferSealedState`: answered once the runtime has tried the blob, or at once (`NOT_WAITING`) when
    /// offers are closed.
    public func offer(_ blob: [UInt8]) async -> Enclava_V1_OfferSealedStateResponse {
        guard case .open = phase else {
            return Self.answer(.notWaiting, "the enclave is not waiting for sealed state (it took its key already, "
                               + "its wait for an offer ended, or an offer was made before): nothing changed")
        }
        let offer = Offer(blob: blob)
        return await withCheckedContinuation { (reply: CheckedContinuation<Enclava_V1_OfferSealedStateResponse, Never>) in
            if let waiter = runtimeWaiter {
                runtimeWaiter = nil
                phase = .trying(reply)
                waiter.resume(returning: offer)
            } else {
                phase = .offered(offer, reply)
            }
        }
    }

    /// The runtime's outcome for the offer it tried; closes offers.
    public func reply(_ outcome: Enclava_V1_OfferSealedStateResponse.Outcome, _ message: String) {
        if case .trying(let reply) = phase { reply.resume(returning: Self.answer(outcome, message)) }
        phase = .closed
    }

    /// Closes offers without trying one (the runtime does not wait for one: its key is in the image, or it stops).
    public func closeOffers() {
        switch phase {
        case .offered(_, let reply), .trying(let reply):
            reply.resume(returning: Self.answer(.notWaiting, "the enclave stopped waiting for sealed state"))
        case .open, .closed:
            break
        }
        if let waiter = runtimeWaiter {
            runtimeWaiter = nil
            waiter.resume(returning: nil)
        }
        phase = .closed
    }

    static func answer(_ outcome: Enclava_V1_OfferSealedStateResponse.Outcome, _ message: String)
        -> Enclava_V1_OfferSealedStateResponse {
        var response = Enclava_V1_OfferSealedStateResponse()
        response.outcome = outcome
        response.message = message
        return response
    }

    // MARK: Take (enclave → host, after a release)

    /// Keeps a newly sealed blob for the host and wakes every waiting ``take(after:waitMilliseconds:)``.
    public func keep(_ blob: [UInt8]) {
        self.blob = blob
        generation += 1
        let waiting = takers
        takers = [:]
        for (_, taker) in waiting { taker.resume() }
    }

    /// The host's `TakeSealedState`: the newest blob once its generation is above `after`, or the current one after
    /// `waitMilliseconds` (at most ``maxTakeWaitMilliseconds``).
    public func take(after: UInt64, waitMilliseconds: UInt32) async -> Enclava_V1_TakeSealedStateResponse {
        if generation <= after, waitMilliseconds > 0 {
            let id = nextTaker
            nextTaker += 1
            let wait = min(waitMilliseconds, Self.maxTakeWaitMilliseconds)
            let expiry = Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(Int(wait)))
                await self?.expireTaker(id)
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                takers[id] = continuation
            }
            expiry.cancel()
        }
        var response = Enclava_V1_TakeSealedStateResponse()
        response.generation = generation
        response.blob = Data(blob)
        return response
    }

    private func expireTaker(_ id: Int) {
        takers.removeValue(forKey: id)?.resume()
    }

    /// At shutdown: answers every waiting call at once (offers `NOT_WAITING`, takes with the current blob), so that
    /// none holds the control server open.
    public func finish() {
        closeOffers()
        let waiting = takers
        takers = [:]
        for (_, taker) in waiting { taker.resume() }
    }
}
