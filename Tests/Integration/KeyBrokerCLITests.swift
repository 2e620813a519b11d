import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclavaKeyBroker
import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// `enclava keybroker init|add|revoke|log` over real processes, each failure with its specific code.
@Suite("keybroker CLI")
struct KeyBrokerCLITests {
    let broker = KeyBrokerFixture.shared
    var cli: CLIFixture { broker.cli }

    @Test("init twice, a missing store, a loose master key: each names its problem")
    func storeErrors() throws {
        let folder = try broker.makeStore(addImage: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let again = try cli.run(["keybroker", "init", "--store", store])
        #expect(again.status != 0)
        #expect(again.stderr.contains("STORE_EXISTS"))
        let missing = try cli.run(["keybroker", "log", "--store", folder.appendingPathComponent("nope").path, "--json"])
        #expect(missing.status != 0)
        #expect(missing.stdout.contains("\"code\": \"STORE_MISSING\""))
        #expect(missing.stderr.contains("enclava keybroker init"))
        chmod(store + "/master.key", 0o640)
        let loose = try cli.run(["keybroker", "serve", "--store", store, "--listen", "127.0.0.1:0"])
        #expect(loose.status != 0)
        #expect(loose.stderr.contains("MASTER_KEY_PERMISSIONS"))
        #expect(loose.stderr.contains("chmod 600"))
    }

    @Test("add refuses another image's key and a policy that pins another image; revoke refuses an unknown name")
    func addErrors() throws {
        let folder = try broker.makeStore(addImage: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        // The demo image's policy pins the sealed demo image, not this one.
        let wrongPolicy = try cli.run(["keybroker", "add", "--store", store, "--image", broker.image.path,
                                       "--owner-key", broker.ownerKey.path, "--policy", cli.policy.path])
        #expect(wrongPolicy.status != 0)
        #expect(wrongPolicy.stderr.contains("POLICY_INVALID"))
        #expect(wrongPolicy.stderr.contains("expected_manifest_digests"))
        let otherKey = folder.appendingPathComponent("other.key")
        try OwnerKeyFile.write(SecureBytes.random(count: 32), to: otherKey.path)
        let wrongKey = try cli.run(["keybroker", "add", "--store", store, "--image", broker.image.path,
                                    "--owner-key", otherKey.path, "--policy", broker.policy.path])
        #expect(wrongKey.status != 0)
        #expect(wrongKey.stderr.contains("KEY_MISMATCH"))
        // A sealed (not broker) image is refused even with a policy for it.
        let sealed = try cli.run(["keybroker", "add", "--store", store, "--image", cli.image.path,
                                  "--owner-key", broker.ownerKey.path, "--policy", cli.policy.path])
        #expect(sealed.status != 0)
        #expect(sealed.stderr.contains("IMAGE_INVALID"))
        let unknown = try cli.run(["keybroker", "revoke", "--store", store, "--image", "no-such-model"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("IMAGE_UNKNOWN"))
        #expect(try broker.auditLog(store: store).isEmpty)
    }

    @Test("add, revoke and log: the audit log holds both, by name and by digest")
    func addRevokeLog() throws {
        let folder = try broker.makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("store").path
        let digest = Hex.encode(broker.manifestDigest)
        let revoked = try cli.expectSuccess(["keybroker", "revoke", "--store", store, "--image", digest])
        #expect(revoked.stdout.contains("revoked fraud-broker"))
        let log = try broker.auditLog(store: store)
        #expect(log.compactMap { $0["decision"] as? String } == ["added", "revoked"])
        #expect(log.allSatisfy { ($0["manifest_digest"] as? String) == digest })
        let text = try cli.expectSuccess(["keybroker", "log", "--store", store])
        #expect(text.stdout.split(separator: "\n").count == 2)
        let last = try cli.expectSuccess(["keybroker", "log", "--store", store, "--last", "1"])
        #expect(last.stdout.split(separator: "\n").count == 1)
        #expect(last.stdout.contains("revoked"))
    }
}
