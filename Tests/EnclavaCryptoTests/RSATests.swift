import Foundation
import Testing
@testable import EnclavaCrypto

@Suite("RSA and RSASSA-PSS")
struct RSATests {
    /// One 2048-bit key for the whole test run (generation is slow).
    nonisolated(unsafe) private static var shared: RSAPrivateKey?
    private static let lock = NSLock()

    static func key() throws -> RSAPrivateKey {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        let key = try RSAPrivateKey.generate(bits: 2048)
        shared = key
        return key
    }

    @Test("PSS sign and verify with SHA-384 and salt 48; wrong salt, digest, message or key fail")
    func pss() throws {
        let key = try Self.key()
        #expect(key.publicKey.bitCount == 2048)
        let message = Array("tbsCertificate".utf8)
        let signature = try key.pssSignature(for: message, digest: .sha384, saltLength: 48)
        #expect(signature.count == 256)
        #expect(key.publicKey.isValidPSSSignature(signature, for: message, digest: .sha384, saltLength: 48))
        #expect(!key.publicKey.isValidPSSSignature(signature, for: message, digest: .sha384, saltLength: 32))
        #expect(!key.publicKey.isValidPSSSignature(signature, for: message, digest: .sha256, saltLength: 48))
        #expect(!key.publicKey.isValidPSSSignature(signature, for: message + [0], digest: .sha384, saltLength: 48))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.publicKey.isValidPSSSignature(flipped, for: message, digest: .sha384, saltLength: 48))
        #expect(!key.publicKey.isValidPSSSignature([1, 2, 3], for: message, digest: .sha384, saltLength: 48))
    }

    @Test("PEM round trip of private and public keys")
    func pem() throws {
        let key = try Self.key()
        let text = String(decoding: try key.pemRepresentation().unsafeCopyToArray(), as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let restored = try RSAPrivateKey(pem: text)
        #expect(restored.publicKey == key.publicKey)
        #expect(try RSAPublicKey(pem: key.publicKey.pemRepresentation) == key.publicKey)
        #expect(try RSAPublicKey(spkiDER: key.publicKey.spkiDER) == key.publicKey)
        let signature = try restored.pssSignature(for: [9], digest: .sha256, saltLength: 32)
        #expect(key.publicKey.isValidPSSSignature(signature, for: [9], digest: .sha256, saltLength: 32))
    }

    @Test("bad sizes and non-RSA keys are refused")
    func refusals() throws {
        #expect(cryptoErrorCode { _ = try RSAPrivateKey.generate(bits: 1024) } == .invalidInput)
        let ec = try ECDSAPrivateKey.generate(curve: .p256)
        #expect(cryptoErrorCode { _ = try RSAPublicKey(spkiDER: ec.publicKey.spkiDER) } == .invalidKey)
    }
}
