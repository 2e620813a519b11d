import Foundation
import Testing
@testable import EnclavaCrypto

struct HPKEVectorFile: Decodable {
    struct Encryption: Decodable { let seq: Int; let aad: String; let pt: String; let ct: String }
    struct Export: Decodable { let exporter_context: String; let L: Int; let exported_value: String }
    struct Vector: Decodable {
        let name: String
        let mode: Int
        let kem_id: Int
        let kdf_id: Int
        let aead_id: Int
        let info: String
        let ikmE: String?
        let ikmR: String?
        let skEm: String
        let pkEm: String
        let skRm: String
        let pkRm: String
        let enc: String
        let shared_secret: String?
        let key: String?
        let base_nonce: String?
        let exporter_secret: String?
        let encryptions: [Encryption]
        let exports: [Export]

        var aead: HPKE.AEAD { HPKE.AEAD(rawValue: UInt16(aead_id))! }
    }
    let vectors: [Vector]
}

@Suite("HPKE (RFC 9180) test vectors")
struct HPKEVectorTests {
    static let vectors: [HPKEVectorFile.Vector] = {
        let data = try! Data(contentsOf: TestPaths.vector("hpke-rfc9180.json"))
        return try! JSONDecoder().decode(HPKEVectorFile.self, from: data).vectors
    }()

    static func vector(_ name: String) throws -> HPKEVectorFile.Vector {
        try #require(vectors.first { $0.name == name })
    }

    @Test("the vector file holds base-mode vectors of our KEM and KDF")
    func fileShape() {
        #expect(Self.vectors.count == 2)
        for vector in Self.vectors {
            #expect(vector.mode == 0 && vector.kem_id == 0x20 && vector.kdf_id == 1)
        }
        #expect(Set(Self.vectors.map(\.aead_id)) == [1, 2])
    }

    @Test("DeriveKeyPair reproduces the RFC's key pairs")
    func deriveKeyPair() throws {
        let vector = try Self.vector("RFC 9180 A.1 (0x0020/0x0001/0x0001)")
        let ephemeral = try HPKE.deriveKeyPair(ikm: SecureBytes(hex(try #require(vector.ikmE))))
        #expect(hexString(ephemeral.rawRepresentation.unsafeCopyToArray()) == vector.skEm)
        #expect(hexString(ephemeral.publicKey) == vector.pkEm)
        let recipient = try HPKE.deriveKeyPair(ikm: SecureBytes(hex(try #require(vector.ikmR))))
        #expect(hexString(recipient.rawRepresentation.unsafeCopyToArray()) == vector.skRm)
        #expect(hexString(recipient.publicKey) == vector.pkRm)
    }

    @Test("the A.1 key schedule matches (shared secret, key, base nonce, exporter secret)")
    func keySchedule() throws {
        let vector = try Self.vector("RFC 9180 A.1 (0x0020/0x0001/0x0001)")
        let ephemeral = try X25519PrivateKey(rawRepresentation: SecureBytes(hex(vector.skEm)))
        let dh = try ephemeral.sharedSecret(with: hex(vector.pkRm))
        let sharedSecret = try HPKE.extractAndExpand(dh: dh, kemContext: hex(vector.enc) + hex(vector.pkRm))
        #expect(hexString(sharedSecret.unsafeCopyToArray()) == vector.shared_secret)
        let context = try HPKE.keySchedule(sharedSecret: sharedSecret, info: hex(vector.info), aead: .aes128GCM)
        #expect(hexString(context.key.unsafeCopyToArray()) == vector.key)
        #expect(hexString(context.baseNonce.unsafeCopyToArray()) == vector.base_nonce)
        #expect(hexString(context.exporterSecret.unsafeCopyToArray()) == vector.exporter_secret)
    }

    @Test("sender: enc, sealed messages at several sequence numbers, exports", arguments: HPKEVectorTests.vectors.map(\.name))
    func sender(name: String) throws {
        let vector = try Self.vector(name)
        let ephemeral = try X25519PrivateKey(rawRepresentation: SecureBytes(hex(vector.skEm)))
        var sender = try HPKE.Sender(recipientPublicKey: hex(vector.pkRm), info: hex(vector.info),
                                     ephemeralKey: ephemeral, aead: vector.aead)
        #expect(hexString(sender.encapsulatedKey) == vector.enc)
        for encryption in vector.encryptions {
            // Advance to the vector's sequence number by sealing throwaway messages.
            while sender.sequenceNumber < UInt64(encryption.seq) { _ = try sender.seal([], aad: []) }
            let ciphertext = try sender.seal(hex(encryption.pt), aad: hex(encryption.aad))
            #expect(hexString(ciphertext) == encryption.ct, "seq \(encryption.seq)")
        }
        for export in vector.exports {
            let value = try sender.export(context: hex(export.exporter_context), length: export.L)
            #expect(hexString(value.unsafeCopyToArray()) == export.exported_value)
        }
    }

    @Test("recipient: opens the vector ciphertexts and exports the same secrets", arguments: HPKEVectorTests.vectors.map(\.name))
    func recipient(name: String) throws {
        let vector = try Self.vector(name)
        let key = try X25519PrivateKey(rawRepresentation: SecureBytes(hex(vector.skRm)))
        #expect(hexString(key.publicKey) == vector.pkRm)
        var recipient = try HPKE.Recipient(privateKey: key, encapsulatedKey: hex(vector.enc), info: hex(vector.info),
                                           aead: vector.aead)
        var skipper = try HPKE.Sender(recipientPublicKey: hex(vector.pkRm), info: hex(vector.info),
                                      ephemeralKey: X25519PrivateKey(rawRepresentation: SecureBytes(hex(vector.skEm))),
                                      aead: vector.aead)
        for encryption in vector.encryptions {
            // The recipient only moves forward on authentic messages, so feed it the skipped ones.
            while recipient.sequenceNumber < UInt64(encryption.seq) {
                while skipper.sequenceNumber < recipient.sequenceNumber { _ = try skipper.seal([], aad: []) }
                _ = try recipient.open(try skipper.seal([], aad: []), aad: [])
            }
            let plaintext = try recipient.open(hex(encryption.ct), aad: hex(encryption.aad))
            #expect(hexString(plaintext.unsafeCopyToArray()) == encryption.pt, "seq \(encryption.seq)")
            while skipper.sequenceNumber < recipient.sequenceNumber { _ = try skipper.seal([], aad: []) }
        }
        for export in vector.exports {
            let value = try recipient.export(context: hex(export.exporter_context), length: export.L)
            #expect(hexString(value.unsafeCopyToArray()) == export.exported_value)
        }
    }
}
