import Testing
@testable import EnclavaCrypto

@Suite("HPKE round trips and failures")
struct HPKENegativeTests {
    let recipientKey = X25519PrivateKey()
    let info = Array("enclava/v1 session".utf8) + SHA2.sha384(Array("evidence".utf8))

    func pair() throws -> (HPKE.Sender, HPKE.Recipient) {
        let sender = try HPKE.Sender(recipientPublicKey: recipientKey.publicKey, info: info)
        let recipient = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: sender.encapsulatedKey, info: info)
        return (sender, recipient)
    }

    @Test("round trip with AES-256-GCM, in order, with SecureBytes plaintext")
    func roundTrip() throws {
        var (sender, recipient) = try pair()
        for index in 0..<5 {
            let message = SecureBytes(Array("request \(index)".utf8))
            let aad = Array("session".utf8) + [UInt8(index)]
            let ciphertext = try sender.seal(message, aad: aad)
            #expect(ciphertext.count == message.count + 16)
            #expect(try recipient.open(ciphertext, aad: aad) == message)
        }
        #expect(sender.sequenceNumber == 5 && recipient.sequenceNumber == 5)
        let a = try sender.export(context: Array("enclava/v1 response key".utf8), length: 32)
        let b = try recipient.export(context: Array("enclava/v1 response key".utf8), length: 32)
        #expect(a == b)
        #expect(a != (try sender.export(context: Array("other".utf8), length: 32)))
    }

    @Test("a wrong recipient key fails authentication")
    func wrongKey() throws {
        var (sender, _) = try pair()
        let ciphertext = try sender.seal(Array("hi".utf8), aad: [])
        var other = try HPKE.Recipient(privateKey: X25519PrivateKey(), encapsulatedKey: sender.encapsulatedKey, info: info)
        #expect(cryptoErrorCode { _ = try other.open(ciphertext, aad: []) } == .authenticationFailed)
    }

    @Test("a wrong info fails authentication")
    func wrongInfo() throws {
        var (sender, _) = try pair()
        let ciphertext = try sender.seal(Array("hi".utf8), aad: [])
        var other = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: sender.encapsulatedKey, info: info + [0])
        #expect(cryptoErrorCode { _ = try other.open(ciphertext, aad: []) } == .authenticationFailed)
    }

    @Test("a wrong AAD fails, and the context can still open the right message afterwards")
    func wrongAAD() throws {
        var (sender, recipient) = try pair()
        let ciphertext = try sender.seal(Array("hi".utf8), aad: [1, 2, 3])
        #expect(cryptoErrorCode { _ = try recipient.open(ciphertext, aad: [1, 2, 4]) } == .authenticationFailed)
        #expect(recipient.sequenceNumber == 0)
        #expect(try recipient.open(ciphertext, aad: [1, 2, 3]).unsafeCopyToArray() == Array("hi".utf8))
    }

    @Test("a replayed message fails")
    func replay() throws {
        var (sender, recipient) = try pair()
        let first = try sender.seal(Array("one".utf8), aad: [])
        _ = try recipient.open(first, aad: [])
        #expect(cryptoErrorCode { _ = try recipient.open(first, aad: []) } == .authenticationFailed)
        #expect(recipient.sequenceNumber == 1)
    }

    @Test("reordered messages fail")
    func reorder() throws {
        var (sender, recipient) = try pair()
        let first = try sender.seal(Array("one".utf8), aad: [])
        let second = try sender.seal(Array("two".utf8), aad: [])
        #expect(cryptoErrorCode { _ = try recipient.open(second, aad: []) } == .authenticationFailed)
        #expect(try recipient.open(first, aad: []).unsafeCopyToArray() == Array("one".utf8))
        #expect(try recipient.open(second, aad: []).unsafeCopyToArray() == Array("two".utf8))
    }

    @Test("tampered or truncated ciphertext fails")
    func tampered() throws {
        var (sender, recipient) = try pair()
        var ciphertext = try sender.seal(Array("payload".utf8), aad: [])
        ciphertext[0] ^= 1
        #expect(cryptoErrorCode { _ = try recipient.open(ciphertext, aad: []) } == .authenticationFailed)
        ciphertext[0] ^= 1
        #expect(cryptoErrorCode { _ = try recipient.open(Array(ciphertext.prefix(10)), aad: []) } == .authenticationFailed)
        #expect(try recipient.open(ciphertext, aad: []).count == 7)
    }

    @Test("malformed public keys are refused")
    func badKeys() throws {
        #expect(cryptoErrorCode { _ = try HPKE.Sender(recipientPublicKey: [1, 2, 3], info: []) } == .invalidKey)
        // The all-zero point has low order: the shared secret would be zero.
        #expect(cryptoErrorCode { _ = try HPKE.Sender(recipientPublicKey: [UInt8](repeating: 0, count: 32), info: []) } == .invalidKey)
        #expect(cryptoErrorCode {
            _ = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: [UInt8](repeating: 0, count: 32), info: [])
        } == .invalidKey)
        #expect(cryptoErrorCode { _ = try HPKE.deriveKeyPair(ikm: SecureBytes(count: 16)) } == .invalidInput)
    }

    @Test("X25519 agreement is symmetric")
    func x25519() throws {
        let a = X25519PrivateKey()
        let b = X25519PrivateKey()
        #expect(try a.sharedSecret(with: b.publicKey) == b.sharedSecret(with: a.publicKey))
        let restored = try X25519PrivateKey(rawRepresentation: a.rawRepresentation)
        #expect(restored.publicKey == a.publicKey)
        #expect(cryptoErrorCode { _ = try X25519PrivateKey(rawRepresentation: SecureBytes(count: 31)) } == .invalidKey)
    }
}
