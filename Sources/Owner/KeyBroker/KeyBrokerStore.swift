import EnclavaCrypto
import Foundation
import GRDB

/// The key broker's store: a folder holding `master.key` (0600) and `broker.sqlite`, an SQLite database in WAL mode
/// with `synchronous = FULL`, so a write that returned is on disk and survives kill -9 or a power cut.
///
/// Tables (``migrator``):
/// * `images`: manifest digest (hex, the identity), name, version, policy JSON, the model key under the master key
///   (AES-256-GCM, AAD = label ‖ manifest digest), revoked flag, when it was added.
/// * `audit`: one append-only line per release, refusal and administrative change (time, image, manifest digest,
///   platform, measurement, TCB, decision, the policy field that failed, the reason, the peer). Triggers abort every
///   UPDATE and DELETE on it, and this type has no code path that issues one.
///
/// Every method is synchronous and safe to call from several threads (the database serialises writers); several
/// processes may open one store (`keybroker log` beside `keybroker serve`).
public final class KeyBrokerStore: Sendable {
    /// The store folder.
    public let directory: String
    let database: DatabaseQueue
    let masterKey: MasterKey

    /// The database file's name in the store folder.
    public static let databaseFileName = "broker.sqlite"
    /// The master key file's name in the store folder.
    public static let masterKeyFileName = "master.key"
    /// How long a writer waits for another process's write lock before `DATABASE_LOCKED`.
    public static let busyTimeout: TimeInterval = 5

    /// Creates a store in `directory` (made 0700 when missing): a fresh master key and an empty database.
    /// - Throws: ``KeyBrokerError`` `storeExists` when the folder already holds a store.
    @discardableResult
    public static func initialize(directory: String) throws -> KeyBrokerStore {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw KeyBrokerError(.storeMissing, "\(directory) is a file, not a folder; give a new or empty folder")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw KeyBrokerError(.databaseFailed, "cannot create the store folder \(directory): \(error)")
            }
        }
        let databasePath = (directory as NSString).appendingPathComponent(databaseFileName)
        guard !FileManager.default.fileExists(atPath: databasePath) else {
            throw KeyBrokerError(.storeExists, "\(directory) already holds a key broker store (\(databaseFileName)); "
                                     + "use it, or give another folder")
        }
        let masterKey = try MasterKey.create(at: (directory as NSString).appendingPathComponent(masterKeyFileName))
        return try KeyBrokerStore(directory: directory, masterKey: masterKey, create: true)
    }

    /// Opens an existing store.
    /// - Throws: ``KeyBrokerError`` `storeMissing`, `masterKeyMissing`, `masterKeyPermissions`, `masterKeyInvalid`,
    ///   `databaseLocked` or `databaseFailed`.
    public convenience init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw KeyBrokerError(.storeMissing, "the store folder \(directory) does not exist; create it with "
                                     + "`enclava keybroker init --store \(directory)`")
        }
        let databasePath = (directory as NSString).appendingPathComponent(Self.databaseFileName)
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw KeyBrokerError(.storeMissing, "\(directory) is not a key broker store (no \(Self.databaseFileName)); "
                                     + "create one with `enclava keybroker init --store \(directory)`")
        }
        let masterKey = try MasterKey.load(path: (directory as NSString).appendingPathComponent(Self.masterKeyFileName))
        try self.init(directory: directory, masterKey: masterKey, create: false)
    }

    private init(directory: String, masterKey: MasterKey, create: Bool) throws {
        self.directory = directory
        self.masterKey = masterKey
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "enclava.keybroker"
        let path = (directory as NSString).appendingPathComponent(Self.databaseFileName)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            // GRDB's WAL setup chooses NORMAL; a release must be on disk before its answer leaves, so FULL.
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Self.migrator.migrate(queue)
            database = queue
        } catch let error as KeyBrokerError {
            throw error
        } catch {
            throw Self.translate(error, doing: create ? "create the store database" : "open the store database \(path)")
        }
        if create { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
    }

    /// The schema, one migration per version.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE images (
                  manifest_digest TEXT PRIMARY KEY NOT NULL,
                  name TEXT NOT NULL,
                  version TEXT NOT NULL,
                  policy_json TEXT NOT NULL,
                  key_nonce BLOB NOT NULL,
                  key_ciphertext BLOB NOT NULL,
                  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
                  added_at TEXT NOT NULL
                );
                CREATE INDEX images_by_name ON images(name);
                CREATE TABLE audit (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  time TEXT NOT NULL,
                  image TEXT NOT NULL,
                  manifest_digest TEXT NOT NULL,
                  platform TEXT NOT NULL,
                  measurement TEXT NOT NULL,
                  tcb TEXT NOT NULL,
                  decision TEXT NOT NULL CHECK (decision IN ('released', 'refused', 'added', 'revoked')),
                  field TEXT NOT NULL,
                  reason TEXT NOT NULL,
                  peer TEXT NOT NULL
                );
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """)
        }
        return migrator
    }

    /// The `synchronous` setting of the store's connection (2 = FULL), for tests and `keybroker log`.
    public func synchronousMode() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The journal mode (`wal`).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.read(body)
        } catch let error as KeyBrokerError {
            throw error
        } catch {
            throw Self.translate(error, doing: "read the store")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.write(body)
        } catch let error as KeyBrokerError {
            throw error
        } catch {
            throw Self.translate(error, doing: "write the store")
        }
    }

    /// A GRDB error as a ``KeyBrokerError``.
    static func translate(_ error: any Error, doing what: String) -> KeyBrokerError {
        if let database = error as? DatabaseError {
            if database.resultCode == .SQLITE_BUSY || database.resultCode == .SQLITE_LOCKED {
                return KeyBrokerError(.databaseLocked, "cannot \(what): the database is locked by another process for "
                                          + "more than \(Int(busyTimeout)) s; retry, or stop the other `enclava keybroker` command")
            }
            if database.message?.contains("append-only") == true {
                return KeyBrokerError(.auditAppendOnly, "cannot \(what): the audit log is append-only")
            }
            return KeyBrokerError(.databaseFailed, "cannot \(what): \(database.message ?? "\(database.resultCode)") "
                                      + "(SQLite \(database.resultCode))")
        }
        return KeyBrokerError(.databaseFailed, "cannot \(what): \(error)")
    }

    /// Now, as the audit log writes it: ISO 8601 UTC with milliseconds.
    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
