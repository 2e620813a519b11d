import EnclavaCrypto
import EnclavaKeyBroker
import EnclavaWire
import Foundation

/// The broker's open challenges: single-use, expiring, bounded in total and per connection, and bound to the
/// connection that asked. A value type with no I/O (tested on its own); ``KeyBrokerService`` holds it under a lock.
public struct ChallengeBook: Sendable {
    /// One issued challenge.
    public struct Entry: Sendable, Equatable {
        /// The id the enclave names it by.
        public let id: [UInt8]
        /// The nonce it must bind.
        public let nonce: [UInt8]
        /// The connection that asked for it.
        public let connection: TTRPCConnectionID
        /// The image asked for.
        public let request: KeyBrokerMessages.KeyRequest
        /// When it stops being accepted.
        public let expiry: Date
    }

    /// Why a challenge was not issued or not accepted (for the audit log and the server's answer).
    public enum Problem: Error, Sendable, Equatable {
        /// Issuing: the broker already holds ``ChallengeBook/maxOpen`` challenges.
        case tooManyOpen
        /// Issuing: this connection already holds ``ChallengeBook/maxPerConnection`` challenges.
        case tooManyOnConnection
        /// Taking: no such challenge (never issued, already used, or dropped with its connection).
        case unknown
        /// Taking: it expired.
        case expired
        /// Taking: it was issued to another connection.
        case otherConnection

        /// A sentence for the audit log.
        public var reason: String {
            switch self {
            case .tooManyOpen: "the broker holds its maximum of open challenges"
            case .tooManyOnConnection: "this connection holds its maximum of open challenges"
            case .unknown: "unknown challenge: never issued, already used (a replay), or its connection closed"
            case .expired: "the challenge expired before the evidence came"
            case .otherConnection: "the challenge was issued to another connection"
            }
        }
    }

    /// How long a challenge is accepted.
    public let lifetime: TimeInterval
    /// Open challenges at most, in total.
    public let maxOpen: Int
    /// Open challenges at most, per connection.
    public let maxPerConnection: Int
    private var entries: [[UInt8]: Entry] = [:]

    /// An empty book.
    public init(lifetime: TimeInterval = 60, maxOpen: Int = 4096, maxPerConnection: Int = 4) {
        self.lifetime = lifetime
        self.maxOpen = maxOpen
        self.maxPerConnection = maxPerConnection
    }

    /// Open challenges.
    public var count: Int { entries.count }

    /// Issues a fresh challenge to `connection` (expired ones are dropped first).
    /// - Throws: ``Problem`` `tooManyOpen` or `tooManyOnConnection`.
    public mutating func issue(_ request: KeyBrokerMessages.KeyRequest, connection: TTRPCConnectionID,
                               now: Date = Date()) throws -> Entry {
        purgeExpired(now: now)
        guard entries.count < maxOpen else { throw Problem.tooManyOpen }
        guard entries.values.lazy.filter({ $0.connection == connection }).count < maxPerConnection else {
            throw Problem.tooManyOnConnection
        }
        var id = SecureRandom.bytes(count: KeyBrokerProtocol.challengeIDByteCount)
        while entries[id] != nil { id = SecureRandom.bytes(count: KeyBrokerProtocol.challengeIDByteCount) }
        let entry = Entry(id: id, nonce: SecureRandom.bytes(count: KeyBrokerProtocol.nonceByteCount),
                          connection: connection, request: request, expiry: now.addingTimeInterval(lifetime))
        entries[id] = entry
        return entry
    }

    /// Takes (removes) the challenge `id` for `connection`. It is removed whatever the outcome, so it can be
    /// answered once at most: a replay, even on the right connection, finds nothing.
    /// - Throws: ``Problem`` `unknown`, `expired` or `otherConnection`.
    public mutating func take(_ id: [UInt8], connection: TTRPCConnectionID, now: Date = Date()) throws -> Entry {
        guard let entry = entries[id] else { throw Problem.unknown }
        guard entry.connection == connection else {
            // Another connection naming it is a probe or a theft: the challenge is spent either way.
            entries[id] = nil
            throw Problem.otherConnection
        }
        entries[id] = nil
        guard now < entry.expiry else { throw Problem.expired }
        return entry
    }

    /// Drops every challenge of a closed connection.
    public mutating func drop(connection: TTRPCConnectionID) {
        entries = entries.filter { $0.value.connection != connection }
    }

    /// Drops expired challenges.
    public mutating func purgeExpired(now: Date = Date()) {
        entries = entries.filter { now < $0.value.expiry }
    }
}
