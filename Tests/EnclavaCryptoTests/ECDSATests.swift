import Testing
@testable import EnclavaCrypto

@Suite("ECDSA P-256 / P-384")
struct ECDSATests {
    static let curves: [ECCurve] = [.p256, .p384]

    @Test("sign and verify; a tampered message, another key and a tampered signature fail", arguments: ECDSATests.curves)
    func signVerify(curve: ECCurve) throws {
        let key = try ECDSAPrivateKey.generate(curve: curve)
        #expect(key.curve == curve && key.publicKey.curve == curve)
        let message = Array("attestation report bytes".utf8)
        let signature = try key.signature(for: message, digest: curve.defaultDigest)
        #expect(signature.r.count == curve.coordinateByteCount && signature.s.count == curve.coordinateByteCount)
        #expect(key.publicKey.isValidSignature(signature, for: message, digest: curve.defaultDigest))

        var tampered = message
        tampered[0] ^= 1
        #expect(!key.publicKey.isValidSignature(signature, for: tampered, digest: curve.defaultDigest))
        #expect(!key.publicKey.isValidSignature(signature, for: message, digest: .sha512))
        let other = try ECDSAPrivateKey.generate(curve: curve)
        #expect(!other.publicKey.isValidSignature(signature, for: message, digest: curve.defaultDigest))
        var s = signature.s
        s[s.count - 1] ^= 1
        #expect(!key.publicKey.isValidSignature(ECDSASignature(r: signature.r, s: s), for: message, digest: curve.defaultDigest))
    }

    @Test("DER and r/s conversions round-trip", arguments: ECDSATests.curves)
    func signatureEncodings(curve: ECCurve) throws {
        let key = try ECDSAPrivateKey.generate(curve: curve)
        let message = Array("m".utf8)
        let signature = try key.signature(for: message, digest: .sha384)
        let fromDER = try ECDSASignature(derRepresentation: signature.derRepresentation)
        #expect(fromDER == signature)
        #expect(fromDER.r == signature.r && fromDER.s == signature.s)
        // r and s given with extra leading zeros (as SNP's 72-byte fields are) are the same signature.
        let padded = ECDSASignature(r: [0, 0, 0] + signature.r, s: [0] + signature.s)
        #expect(padded == signature)
        #expect(key.publicKey.isValidSignature(padded, for: message, digest: .sha384))
        #expect(cryptoErrorCode { _ = try ECDSASignature(derRepresentation: [0x30, 0x03, 0x02, 0x01]) } == .invalidSignature)
        #expect(cryptoErrorCode { _ = try ECDSASignature(derRepresentation: signature.derRepresentation + [0]) } == .invalidSignature)
        #expect(cryptoErrorCode { _ = try ECDSASignature(r: [UInt8](repeating: 1, count: 49), s: [1], curve: .p384) } == .invalidSignature)
    }

    @Test("public keys: SPKI, PEM and coordinates round-trip; an off-curve point is refused", arguments: ECDSATests.curves)
    func publicKeys(curve: ECCurve) throws {
        let key = try ECDSAPrivateKey.generate(curve: curve).publicKey
        #expect(try ECDSAPublicKey(spkiDER: key.spkiDER) == key)
        #expect(key.pemRepresentation.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(try ECDSAPublicKey(pem: key.pemRepresentation) == key)
        #expect(key.x.count == curve.coordinateByteCount && key.y.count == curve.coordinateByteCount)
        #expect(try ECDSAPublicKey(curve: curve, x: key.x, y: key.y) == key)
        var y = key.y
        y[y.count - 1] ^= 1
        #expect(cryptoErrorCode { _ = try ECDSAPublicKey(curve: curve, x: key.x, y: y) } == .invalidKey)
        #expect(cryptoErrorCode { _ = try ECDSAPublicKey(spkiDER: [0x30, 0x00]) } == .invalidKey)
    }

    @Test("private keys: PKCS#8 PEM export and import keep the key", arguments: ECDSATests.curves)
    func privatePEM(curve: ECCurve) throws {
        let key = try ECDSAPrivateKey.generate(curve: curve)
        let pem = try key.pemRepresentation()
        let text = String(decoding: pem.unsafeCopyToArray(), as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let restored = try ECDSAPrivateKey(pem: text)
        #expect(restored.publicKey == key.publicKey)
        let signature = try restored.signature(for: [1, 2, 3], digest: .sha256)
        #expect(key.publicKey.isValidSignature(signature, for: [1, 2, 3], digest: .sha256))
        #expect(cryptoErrorCode { _ = try ECDSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") } == .invalidKey)
    }

    @Test("an RSA key is not an ECDSA key")
    func wrongKeyType() throws {
        let rsa = try RSATests.key()
        #expect(cryptoErrorCode { _ = try ECDSAPublicKey(spkiDER: rsa.publicKey.spkiDER) } == .invalidKey)
        let pem = String(decoding: try rsa.pemRepresentation().unsafeCopyToArray(), as: UTF8.self)
        #expect(cryptoErrorCode { _ = try ECDSAPrivateKey(pem: pem) } == .invalidKey)
    }
}
