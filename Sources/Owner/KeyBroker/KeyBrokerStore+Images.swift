import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import Foundation
import GRDB

/// One image the broker may release a key for.
public struct BrokerImage: Sendable, Equatable {
    /// The manifest digest (48 bytes): the image's identity.
    public let manifestDigest: [UInt8]
    /// The image name from its manifest.
    public let name: String
    /// The image version from its manifest.
    public let version: String
    /// The policy JSON as the operator gave it (`enclava policy create`'s format).
    public let policyJSON: String
    /// Whether the key is no longer released.
    public let revoked: Bool
    /// When it was added (ISO 8601).
    public let addedAt: String

    /// The manifest digest in hex.
    public var manifestDigestHex: String { Hex.encode(manifestDigest) }

    /// The policy, decoded with the same strict decoder `enclava infer` uses.
    /// - Throws: ``AttestationError`` `invalidPolicy`.
    public func policy() throws -> AttestationPolicy {
        try JSONDecoder().decode(AttestationPolicy.self, from: Data(policyJSON.utf8))
    }
}

extension KeyBrokerStore {
    /// Adds an image: checks that it is signed and packaged for broker release, that `ownerKey` is the key its
    /// header commits to, and that `policyJSON` is a valid policy that pins this image's manifest digest; then
    /// stores the key under the master key and writes an `added` audit line, in one transaction.
    /// - Throws: ``KeyBrokerError`` `imageInvalid`, `keyMismatch`, `policyInvalid`, `imageExists`, `databaseLocked`.
    @discardableResult
    public func add(image: EnclaveImage, ownerKey: SecureBytes, policyJSON: String, policySource: String = "the policy")
        throws -> BrokerImage {
        guard image.manifest.keys.release == .broker else {
            throw KeyBrokerError(.imageInvalid, "\(image.path) is packaged with [keys] release = "
                                     + "\"\(image.manifest.keys.release.rawValue)\"; the broker serves only images whose manifest says "
                                     + "release = \"broker\" (repackage with that and --owner-key-out)")
        }
        do {
            try image.checkOwnerKey(ownerKey)
        } catch let error as ImageError {
            throw KeyBrokerError(.keyMismatch, "the owner key is not this image's key: \(error.message)")
        }
        let policy: AttestationPolicy
        do {
            policy = try JSONDecoder().decode(AttestationPolicy.self, from: Data(policyJSON.utf8))
        } catch let error as AttestationError {
            throw KeyBrokerError(.policyInvalid, "\(policySource): \(error.message)")
        } catch {
            throw KeyBrokerError(.policyInvalid, "\(policySource) is not a valid policy JSON file: \(error)")
        }
        let digestHex = Hex.encode(image.manifestDigest)
        guard policy.expectedManifestDigests.contains(digestHex) else {
            throw KeyBrokerError(.policyInvalid, "\(policySource) does not pin this image's manifest digest \(digestHex) in "
                                     + "`expected_manifest_digests`; make it with `enclava policy create --image \(image.path)`")
        }
        guard !policy.expectedMeasurements.isEmpty else {
            throw KeyBrokerError(.policyInvalid, "\(policySource) pins no measurement in `expected_measurements`, so it "
                                     + "would release the key to nothing; make it with `enclava policy create`")
        }
        let sealed = try masterKey.encrypt(ownerKey, manifestDigest: image.manifestDigest)
        let entry = BrokerImage(manifestDigest: image.manifestDigest, name: image.manifest.image.name,
                                version: image.manifest.image.version, policyJSON: policyJSON, revoked: false,
                                addedAt: Self.timestamp())
        try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM images WHERE manifest_digest = ?", arguments: [digestHex]) == true {
                throw KeyBrokerError(.imageExists, "image \(entry.name) (\(digestHex.prefix(16))…) is already in the store; "
                                         + "a revoked image stays revoked: package a new image to serve again")
            }
            try db.execute(sql: """
                INSERT INTO images (manifest_digest, name, version, policy_json, key_nonce, key_ciphertext, revoked, added_at)
                VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                """, arguments: [digestHex, entry.name, entry.version, policyJSON, Data(sealed.nonce),
                                 Data(sealed.ciphertext), entry.addedAt])
            try Self.insertAudit(db, AuditEntry(time: entry.addedAt, image: entry.name, manifestDigest: digestHex,
                                                decision: .added, reason: "added by `enclava keybroker add`",
                                                peer: "local"))
        }
        return entry
    }

    /// Revokes every image whose name or manifest digest (hex) is `nameOrDigest`; writes a `revoked` audit line each.
    /// - Returns: the images now revoked (those already revoked included).
    /// - Throws: ``KeyBrokerError`` `imageUnknown` when nothing matches.
    @discardableResult
    public func revoke(_ nameOrDigest: String) throws -> [BrokerImage] {
        let key = nameOrDigest.lowercased()
        return try write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM images WHERE name = ? OR manifest_digest = ?",
                                        arguments: [nameOrDigest, key])
            guard !rows.isEmpty else {
                throw KeyBrokerError(.imageUnknown, "no image named or with manifest digest `\(nameOrDigest)` is in the "
                                         + "store; `enclava keybroker log` lists what was added")
            }
            let now = Self.timestamp()
            for row in rows {
                let digest: String = row["manifest_digest"]
                try db.execute(sql: "UPDATE images SET revoked = 1 WHERE manifest_digest = ?", arguments: [digest])
                try Self.insertAudit(db, AuditEntry(time: now, image: row["name"], manifestDigest: digest,
                                                    decision: .revoked, reason: "revoked by `enclava keybroker revoke`",
                                                    peer: "local"))
            }
            return try rows.map { try Self.image(from: $0, revokedOverride: true) }
        }
    }

    /// The image with this manifest digest, or nil.
    public func image(manifestDigest: [UInt8]) throws -> BrokerImage? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM images WHERE manifest_digest = ?",
                             arguments: [Hex.encode(manifestDigest)]).map { try Self.image(from: $0) }
        }
    }

    /// Every image, oldest first.
    public func images() throws -> [BrokerImage] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM images ORDER BY added_at, manifest_digest").map { try Self.image(from: $0) }
        }
    }

    /// The model key of the image with this manifest digest, decrypted with the master key.
    /// - Throws: ``KeyBrokerError`` `imageUnknown`, `masterKeyInvalid`.
    public func modelKey(manifestDigest: [UInt8]) throws -> SecureBytes {
        let row = try read { db in
            try Row.fetchOne(db, sql: "SELECT key_nonce, key_ciphertext FROM images WHERE manifest_digest = ?",
                             arguments: [Hex.encode(manifestDigest)])
        }
        guard let row else {
            throw KeyBrokerError(.imageUnknown, "no image with manifest digest \(Hex.encode(manifestDigest)) is in the store")
        }
        let nonce: Data = row["key_nonce"]
        let ciphertext: Data = row["key_ciphertext"]
        return try masterKey.decrypt(nonce: [UInt8](nonce), ciphertext: [UInt8](ciphertext), manifestDigest: manifestDigest)
    }

    static func image(from row: Row, revokedOverride: Bool? = nil) throws -> BrokerImage {
        let digestHex: String = row["manifest_digest"]
        guard let digest = Hex.decode(digestHex) else {
            throw KeyBrokerError(.databaseFailed, "the store holds a manifest digest that is not hex (\(digestHex)); the database was altered")
        }
        let revoked: Int = row["revoked"]
        return BrokerImage(manifestDigest: digest, name: row["name"], version: row["version"], policyJSON: row["policy_json"],
                           revoked: revokedOverride ?? (revoked != 0), addedAt: row["added_at"])
    }
}
