import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

@Suite struct SignerKeyTests {
    @Test func generateWriteLoadRoundTrip() throws {
        let folder = try TemporaryFolder()
        let key = try SignerKey.generate(writingTo: folder.file("signer.pem"))
        #expect(key.curve == .p384)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.file("signer.pem"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = String(decoding: try folder.read("signer.pem"), as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let loaded = try SignerKey.load(path: folder.file("signer.pem"))
        #expect(loaded.publicKey == key.publicKey)
        #expect(try SignerKey.loadPublicKey(path: folder.file("signer.pem")) == key.publicKey)
        try folder.write("signer.pub", key.publicKey.pemRepresentation)
        #expect(try SignerKey.loadPublicKey(path: folder.file("signer.pub")) == key.publicKey)
        #expect(SignerKey.fingerprint(of: key.publicKey) == Hex.encode(SHA2.sha256(key.publicKey.spkiDER)))
        #expect(try folder.contents() == ["signer.pem", "signer.pub"])
    }

    @Test func existingKeyIsNotOverwrittenUnlessAsked() throws {
        let folder = try TemporaryFolder()
        let first = try SignerKey.generate(writingTo: folder.file("signer.pem"))
        let error = try #require(throws: ImageError.self) { try SignerKey.generate(writingTo: folder.file("signer.pem")) }
        #expect(error.code == .outputUnwritable)
        #expect(error.message.contains("already exists"))
        #expect(try SignerKey.load(path: folder.file("signer.pem")).publicKey == first.publicKey)
        #expect(try folder.contents() == ["signer.pem"])
        let second = try SignerKey.generate(writingTo: folder.file("signer.pem"), overwrite: true)
        #expect(try SignerKey.load(path: folder.file("signer.pem")).publicKey == second.publicKey)
    }

    @Test func badKeyFilesAreNamed() throws {
        let folder = try TemporaryFolder()
        let missing = try #require(throws: ImageError.self) { try SignerKey.load(path: folder.file("nope.pem")) }
        #expect(missing.code == .fileUnreadable)
        #expect(missing.description.hasPrefix(folder.file("nope.pem") + ": "))

        try folder.write("garbage.pem", "hello\n")
        #expect((try? SignerKey.load(path: folder.file("garbage.pem"))) == nil)
        let garbage = try #require(throws: ImageError.self) { try SignerKey.load(path: folder.file("garbage.pem")) }
        #expect(garbage.code == .invalidSignerKey)

        try folder.write("empty.pem", "")
        #expect(throws: ImageError.self) { try SignerKey.load(path: folder.file("empty.pem")) }

        let p256 = try ECDSAPrivateKey.generate(curve: .p256)
        try folder.write("p256.pem", p256.pemRepresentation().unsafeCopyToArray())
        let curve = try #require(throws: ImageError.self) { try SignerKey.load(path: folder.file("p256.pem")) }
        #expect(curve.code == .invalidSignerKey)
        #expect(curve.message.contains("P-384"))

        let folderError = try #require(throws: ImageError.self) { try SignerKey.load(path: folder.path) }
        #expect(folderError.code == .fileUnreadable)
    }
}
