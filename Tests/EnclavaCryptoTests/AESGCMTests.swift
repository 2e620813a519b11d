import Testing
@testable import EnclavaCrypto

@Suite("AES-GCM")
struct AESGCMTests {
    let key = SecureBytes.random(count: 32)
    let nonce = SecureRandom.bytes(count: 12)
    let aad = Array("header".utf8)
    let plaintext = Array("the quick brown fox jumps over the lazy dog".utf8)

    @Test("round trip with AES-256 and AES-128", arguments: [16, 32])
    func roundTrip(keySize: Int) throws {
        let key = SecureBytes.random(count: keySize)
        let sealed = try AESGCM.seal(key: key, nonce: nonce, plaintext: plaintext, aad: aad)
        #expect(sealed.count == plaintext.count + 16)
        #expect(Array(sealed.prefix(plaintext.count)) != plaintext)
        #expect(try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: sealed, aad: aad).unsafeCopyToArray() == plaintext)
    }

    @Test("a known answer: NIST GCM test case 14 (AES-256, zero key, zero IV, one zero block)")
    func knownAnswer() throws {
        let sealed = try AESGCM.seal(key: SecureBytes(count: 32), nonce: [UInt8](repeating: 0, count: 12),
                                     plaintext: [UInt8](repeating: 0, count: 16), aad: [])
        #expect(hexString(sealed) == "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
    }

    @Test("empty plaintext still authenticates the AAD")
    func emptyPlaintext() throws {
        let sealed = try AESGCM.seal(key: key, nonce: nonce, plaintext: [UInt8](), aad: aad)
        #expect(sealed.count == 16)
        #expect(try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: sealed, aad: aad).count == 0)
        #expect(cryptoErrorCode { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: sealed, aad: []) } == .authenticationFailed)
    }

    @Test("flipped tag, flipped ciphertext, wrong key, wrong nonce, wrong AAD and truncation all fail")
    func negatives() throws {
        let sealed = try AESGCM.seal(key: key, nonce: nonce, plaintext: plaintext, aad: aad)
        var flippedTag = sealed
        flippedTag[sealed.count - 1] ^= 0x01
        var flippedCiphertext = sealed
        flippedCiphertext[3] ^= 0x80
        var wrongNonce = nonce
        wrongNonce[0] ^= 1
        let cases: [(String, () throws -> Void)] = [
            ("flipped tag", { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: flippedTag, aad: aad) }),
            ("flipped ciphertext", { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: flippedCiphertext, aad: aad) }),
            ("wrong key", { _ = try AESGCM.open(key: SecureBytes.random(count: 32), nonce: nonce, ciphertextAndTag: sealed, aad: aad) }),
            ("wrong nonce", { _ = try AESGCM.open(key: key, nonce: wrongNonce, ciphertextAndTag: sealed, aad: aad) }),
            ("wrong AAD", { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: sealed, aad: aad + [0]) }),
            ("truncated by one byte", { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: Array(sealed.dropLast()), aad: aad) }),
            ("shorter than a tag", { _ = try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: Array(sealed.prefix(15)), aad: aad) }),
        ]
        for (name, body) in cases {
            #expect(cryptoErrorCode(body) == .authenticationFailed, "\(name)")
        }
    }

    @Test("open(into:) zeroes the output on failure")
    func outputZeroedOnFailure() throws {
        var sealed = try AESGCM.seal(key: key, nonce: nonce, plaintext: plaintext, aad: aad)
        sealed[sealed.count - 1] ^= 1
        var output = [UInt8](repeating: 0xAA, count: plaintext.count)
        let code = cryptoErrorCode {
            try sealed.withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { out in
                    try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: input, aad: aad, into: out)
                }
            }
        }
        #expect(code == .authenticationFailed)
        #expect(output.allSatisfy { $0 == 0 })
    }

    @Test("bad key and nonce sizes are refused")
    func badSizes() {
        #expect(cryptoErrorCode { _ = try AESGCM.seal(key: SecureBytes(count: 24), nonce: nonce, plaintext: plaintext, aad: []) } == .invalidKey)
        #expect(cryptoErrorCode { _ = try AESGCM.seal(key: key, nonce: [0, 1], plaintext: plaintext, aad: []) } == .invalidInput)
    }
}
