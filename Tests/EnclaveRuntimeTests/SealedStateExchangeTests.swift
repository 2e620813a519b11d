import EnclavaWire
import EnclaveRuntime
import Foundation
import Testing

/// The enclave's side of the host keeping its sealed state (`--sealed-state host`): the offer at start and the
/// long-polled take, with a host that offers early, late, twice, or never.
@Suite struct SealedStateExchangeTests {
    @Test func anOfferMadeBeforeTheRuntimeWaitsIsTriedAndAnsweredWithItsOutcome() async {
        let exchange = SealedStateExchange()
        let answer = Task { await exchange.offer([1, 2, 3]) }
        try? await Task.sleep(for: .milliseconds(50))   // (most often the offer is pending by now; either order works)
        #expect(await exchange.awaitOffer(timeout: .seconds(60))?.blob == [1, 2, 3])
        await exchange.reply(.refused, "SEALED_STATE_UNSEAL_FAILED")
        let response = await answer.value
        #expect(response.outcome == .refused && response.message == "SEALED_STATE_UNSEAL_FAILED")
    }

    @Test func theRuntimeWaitingGetsTheOfferAndASecondOfferChangesNothing() async {
        let exchange = SealedStateExchange()
        let waiting = Task { await exchange.awaitOffer(timeout: .seconds(60)) }
        let answer = Task { await exchange.offer([9]) }
        let offer = await waiting.value
        #expect(offer?.blob == [9])
        let second = await exchange.offer([7])
        #expect(second.outcome == .notWaiting)
        await exchange.reply(.opened, "sealed state opened")
        #expect(await answer.value.outcome == .opened)
        #expect(await exchange.offer([8]).outcome == .notWaiting)
    }

    @Test func aHostThatNeverOffersOnlyDelaysTheStartAndALateOfferIsNotWaiting() async {
        let exchange = SealedStateExchange()
        #expect(await exchange.awaitOffer(timeout: .milliseconds(20)) == nil)
        let late = await exchange.offer([1])
        #expect(late.outcome == .notWaiting)
        #expect(await exchange.awaitOffer(timeout: .milliseconds(20)) == nil)
    }

    @Test func aTakeWaitsForTheNextBlobAndReturnsTheCurrentOneAfterItsWait() async {
        let exchange = SealedStateExchange()
        let empty = await exchange.take(after: 0, waitMilliseconds: 10)
        #expect(empty.generation == 0 && empty.blob.isEmpty)
        let waiting = Task { await exchange.take(after: 0, waitMilliseconds: 60_000) }
        await exchange.keep([0xAB, 0xCD])
        let first = await waiting.value
        #expect(first.generation == 1 && first.blob == Data([0xAB, 0xCD]))
        // Asking after the generation it has: the current one once the wait ends, nothing newer.
        let same = await exchange.take(after: 1, waitMilliseconds: 10)
        #expect(same.generation == 1)
        #expect(await exchange.generation == 1)
    }

    @Test func finishAnswersEveryWaitingCallAtOnce() async {
        let exchange = SealedStateExchange()
        let take = Task { await exchange.take(after: 0, waitMilliseconds: 60_000) }
        let offer = Task { await exchange.offer([5]) }
        try? await Task.sleep(for: .milliseconds(50))
        await exchange.finish()
        #expect(await take.value.generation == 0)
        #expect(await offer.value.outcome == .notWaiting)
    }
}
