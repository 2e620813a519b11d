import EnclavaKeyBroker
import EnclavaWire
import Foundation
import Testing
@testable import KeyBroker

@Suite("Challenge book")
struct ChallengeBookTests {
    let request = KeyBrokerMessages.KeyRequest(manifestDigest: [UInt8](repeating: 7, count: 48), imageName: "m", backend: "sim")
    let first = TTRPCConnectionID(rawValue: 101)
    let second = TTRPCConnectionID(rawValue: 102)
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test("a challenge is taken once: the replay is unknown")
    func singleUse() throws {
        var book = ChallengeBook()
        let issued = try book.issue(request, connection: first, now: start)
        #expect(issued.id.count == 16 && issued.nonce.count == 32)
        #expect(try book.take(issued.id, connection: first, now: start).nonce == issued.nonce)
        #expect(throws: ChallengeBook.Problem.unknown) { try book.take(issued.id, connection: first, now: start) }
    }

    @Test("a challenge expires after its lifetime and is spent by the late attempt")
    func expiry() throws {
        var book = ChallengeBook(lifetime: 60)
        let issued = try book.issue(request, connection: first, now: start)
        #expect(throws: ChallengeBook.Problem.expired) {
            try book.take(issued.id, connection: first, now: start.addingTimeInterval(60))
        }
        #expect(book.count == 0)
        let later = try book.issue(request, connection: first, now: start)
        #expect(try book.take(later.id, connection: first, now: start.addingTimeInterval(59.9)).id == later.id)
    }

    @Test("another connection cannot answer a challenge, and its attempt spends it")
    func boundToConnection() throws {
        var book = ChallengeBook()
        let issued = try book.issue(request, connection: first, now: start)
        #expect(throws: ChallengeBook.Problem.otherConnection) { try book.take(issued.id, connection: second, now: start) }
        #expect(throws: ChallengeBook.Problem.unknown) { try book.take(issued.id, connection: first, now: start) }
    }

    @Test("the caps per connection and in total hold; a closed connection's challenges are dropped")
    func bounds() throws {
        var book = ChallengeBook(lifetime: 60, maxOpen: 6, maxPerConnection: 4)
        for _ in 0..<4 { _ = try book.issue(request, connection: first, now: start) }
        #expect(throws: ChallengeBook.Problem.tooManyOnConnection) { try book.issue(self.request, connection: self.first, now: self.start) }
        for _ in 0..<2 { _ = try book.issue(request, connection: second, now: start) }
        #expect(throws: ChallengeBook.Problem.tooManyOpen) { try book.issue(self.request, connection: self.second, now: self.start) }
        book.drop(connection: first)
        #expect(book.count == 2)
        _ = try book.issue(request, connection: second, now: start)
        // Expired challenges free their places.
        #expect(try book.issue(request, connection: first, now: start.addingTimeInterval(61)).connection == first)
        #expect(book.count == 1)
    }
}
