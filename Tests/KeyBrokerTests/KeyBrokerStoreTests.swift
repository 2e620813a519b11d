import EnclavaCrypto
import EnclavaImage
import EnclavaTesting
import Foundation
import GRDB
import Testing
@testable import KeyBroker

@Suite("Key broker store")
struct KeyBrokerStoreTests {
    let fixture = BrokerFixture.shared

    @Test("init makes master.key 0600 and a WAL database with synchronous = FULL; a second init is refused")
    func initialize() throws {
        let (store, folder) = try fixture.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let attributes = try FileManager.default.attributesOfItem(atPath: store.directory + "/master.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try store.journalMode() == "wal")
        #expect(try store.synchronousMode() == 2)
        let again = try #require(throws: KeyBrokerError.self) { try KeyBrokerStore.initialize(directory: store.directory) }
        #expect(again.code == .storeExists)
    }

    @Test("opening a folder that is no store says how to make one")
    func missingStore() throws {
        let folder = try fixture.makeStore().1
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: KeyBrokerError.self) { try KeyBrokerStore(directory: folder.path + "/nothing-here") }
        #expect(error.code == .storeMissing)
        #expect(error.message.contains("enclava keybroker init"))
        let empty = try #require(throws: KeyBrokerError.self) { try KeyBrokerStore(directory: folder.path) }
        #expect(empty.code == .storeMissing)
    }

    @Test("a master key that others can read is refused, as is a missing or foreign one")
    func masterKeyChecks() throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyPath = store.directory + "/master.key"
        chmod(keyPath, 0o644)
        let open = try #require(throws: KeyBrokerError.self) { try KeyBrokerStore(directory: store.directory) }
        #expect(open.code == .masterKeyPermissions)
        #expect(open.message.contains("chmod 600"))
        chmod(keyPath, 0o600)
        // Another store's master key: the store opens, but no stored key does.
        let (other, otherFolder) = try fixture.makeStore()
        defer { try? FileManager.default.removeItem(at: otherFolder) }
        try FileManager.default.removeItem(atPath: keyPath)
        let missing = try #require(throws: KeyBrokerError.self) { try KeyBrokerStore(directory: store.directory) }
        #expect(missing.code == .masterKeyMissing)
        try FileManager.default.copyItem(atPath: other.directory + "/master.key", toPath: keyPath)
        let reopened = try KeyBrokerStore(directory: store.directory)
        let digest = try EnclaveImage.open(path: fixture.imagePath).manifestDigest
        let foreign = try #require(throws: KeyBrokerError.self) { try reopened.modelKey(manifestDigest: digest) }
        #expect(foreign.code == .masterKeyInvalid)
    }

    @Test("add keeps the key encrypted at rest and gives it back; the key is not in the database file")
    func addAndReadKey() throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = try EnclaveImage.open(path: fixture.imagePath)
        let key = try OwnerKeyFile.load(path: fixture.ownerKeyPath)
        #expect(try store.modelKey(manifestDigest: image.manifestDigest) == key)
        let entries = try store.images()
        #expect(entries.map(\.name) == ["broker-model"])
        #expect(entries.first?.revoked == false)
        // Neither the database nor its WAL holds the key's bytes.
        let raw = key.unsafeCopyToArray()
        for name in ["broker.sqlite", "broker.sqlite-wal"] {
            let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: store.directory + "/" + name))) ?? Data())
            #expect(ByteSearch.contains(bytes, raw) == false, "\(name) holds the model key in the clear")
        }
    }

    @Test("add refuses the wrong key, a policy that does not pin the image, a second add, an image not for the broker")
    func addRefusals() throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = try EnclaveImage.open(path: fixture.imagePath)
        let otherKey = try OwnerKeyFile.load(path: fixture.otherOwnerKeyPath)
        let wrongKey = try #require(throws: KeyBrokerError.self) {
            try store.add(image: image, ownerKey: otherKey, policyJSON: fixture.policyJSON)
        }
        #expect(wrongKey.code == .keyMismatch)
        let other = try EnclaveImage.open(path: fixture.otherImagePath)
        let unpinned = try #require(throws: KeyBrokerError.self) {
            try store.add(image: other, ownerKey: otherKey, policyJSON: fixture.policyJSON)
        }
        #expect(unpinned.code == .policyInvalid)
        #expect(unpinned.message.contains(Hex.encode(other.manifestDigest)))
        let garbage = try #require(throws: KeyBrokerError.self) {
            try store.add(image: other, ownerKey: otherKey, policyJSON: "{\"allow_simulaton\": true}")
        }
        #expect(garbage.code == .policyInvalid)
        let twice = try #require(throws: KeyBrokerError.self) {
            try store.add(image: image, ownerKey: try OwnerKeyFile.load(path: fixture.ownerKeyPath), policyJSON: fixture.policyJSON)
        }
        #expect(twice.code == .imageExists)
    }

    @Test("revoke by name or digest marks the image and audits it; an unknown name is IMAGE_UNKNOWN")
    func revoke() throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let unknown = try #require(throws: KeyBrokerError.self) { try store.revoke("no-such-image") }
        #expect(unknown.code == .imageUnknown)
        let digest = try EnclaveImage.open(path: fixture.imagePath).manifestDigest
        let revoked = try store.revoke(Hex.encode(digest).uppercased())
        #expect(revoked.map(\.name) == ["broker-model"])
        #expect(try store.image(manifestDigest: digest)?.revoked == true)
        #expect(try store.auditLog().map(\.decision) == [.added, .revoked])
    }

    @Test("the audit table refuses UPDATE and DELETE, even through SQL typed by hand")
    func auditAppendOnly() throws {
        let (store, folder) = try fixture.makeStoreWithImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        try store.appendAudit(AuditEntry(time: "t", image: "x", manifestDigest: "", decision: .refused, field: "f",
                                         reason: "r", peer: "p"))
        for sql in ["UPDATE audit SET decision = 'released'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 2"] {
            let error = try #require(throws: KeyBrokerError.self) {
                try store.write { db in try db.execute(sql: sql) }
            }
            #expect(error.code == .auditAppendOnly, "\(sql)")
        }
        #expect(try store.auditLog().count == 2)
    }

    @Test("a writer blocked by another process's lock gets DATABASE_LOCKED, not a hang")
    func databaseLocked() throws {
        let (store, folder) = try fixture.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A second connection holds the write lock (as another `enclava keybroker` process would).
        var configuration = Configuration()
        configuration.journalMode = .wal
        let other = try DatabaseQueue(path: store.directory + "/broker.sqlite", configuration: configuration)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            let error = try #require(throws: KeyBrokerError.self) {
                try store.appendAudit(AuditEntry(time: "t", image: "x", manifestDigest: "", decision: .refused))
            }
            #expect(error.code == .databaseLocked)
            try db.execute(sql: "ROLLBACK")
        }
    }
}
