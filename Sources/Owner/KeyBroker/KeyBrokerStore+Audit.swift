import Foundation
import GRDB

/// One line of the broker's append-only audit log.
public struct AuditEntry: Sendable, Equatable, Codable {
    /// What happened.
    public enum Decision: String, Sendable, Codable, CaseIterable {
        /// The key was sealed to an attested enclave and sent.
        case released
        /// The enclave was refused; ``AuditEntry/field`` and ``AuditEntry/reason`` say why.
        case refused
        /// An operator added the image.
        case added
        /// An operator revoked the image.
        case revoked
    }

    /// The line's number (assigned by the store; 0 before it is written).
    public var id: Int64 = 0
    /// When (ISO 8601 UTC, milliseconds).
    public var time: String
    /// The image name (the store's, else what the enclave claimed).
    public var image: String
    /// The manifest digest asked for (hex), empty when the request did not carry one.
    public var manifestDigest: String
    /// The evidence's platform (`sev-snp`, `tdx`, `sgx`; `+sim` when simulated), empty when none was verified.
    public var platform: String = ""
    /// The measurement (hex): the verified one, or for a refusal the one the evidence claimed, when known.
    public var measurement: String = ""
    /// The TCB the evidence reported, as text.
    public var tcb: String = ""
    /// What happened.
    public var decision: Decision
    /// For a refusal, the policy field or message field that failed (`expected_measurements`, `challenge_id`…).
    public var field: String = ""
    /// Why, in a sentence (for a refusal, the verifier's code and message).
    public var reason: String = ""
    /// Who asked: the peer address of the connection (`local` for the CLI).
    public var peer: String = ""

    enum CodingKeys: String, CodingKey {
        case id, time, image, platform, measurement, tcb, decision, field, reason, peer
        case manifestDigest = "manifest_digest"
    }
}

extension KeyBrokerStore {
    /// Appends one audit line and returns it with its id. The transaction commits with `synchronous = FULL`, so
    /// when this returns the line is on disk.
    /// - Throws: ``KeyBrokerError`` `databaseLocked` or `databaseFailed`.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws -> AuditEntry {
        try write { db in try Self.insertAudit(db, entry) }
    }

    /// Every audit line in order, or the last `limit`.
    public func auditLog(limit: Int? = nil) throws -> [AuditEntry] {
        try read { db in
            let rows: [Row]
            if let limit {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id",
                                        arguments: [limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id")
            }
            return rows.map { row in
                AuditEntry(id: row["id"], time: row["time"], image: row["image"], manifestDigest: row["manifest_digest"],
                           platform: row["platform"], measurement: row["measurement"], tcb: row["tcb"],
                           decision: AuditEntry.Decision(rawValue: row["decision"]) ?? .refused, field: row["field"],
                           reason: row["reason"], peer: row["peer"])
            }
        }
    }

    /// The only statement that touches the audit table: an INSERT.
    @discardableResult
    static func insertAudit(_ db: Database, _ entry: AuditEntry) throws -> AuditEntry {
        try db.execute(sql: """
            INSERT INTO audit (time, image, manifest_digest, platform, measurement, tcb, decision, field, reason, peer)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [entry.time, entry.image, entry.manifestDigest, entry.platform, entry.measurement, entry.tcb,
                             entry.decision.rawValue, entry.field, entry.reason, entry.peer])
        var written = entry
        written.id = db.lastInsertedRowID
        return written
    }
}
