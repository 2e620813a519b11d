import Foundation
import Testing
@testable import EnclavaCrypto

struct HKDFVectorFile: Decodable {
    struct Vector: Decodable {
        let name: String
        let ikm: String
        let salt: String
        let info: String
        let L: Int
        let prk: String
        let okm: String
    }
    let vectors: [Vector]
}

@Suite("HKDF (RFC 5869)")
struct HKDFTests {
    static let vectors: [HKDFVectorFile.Vector] = {
        let data = try! Data(contentsOf: TestPaths.vector("hkdf-rfc5869.json"))
        return try! JSONDecoder().decode(HKDFVectorFile.self, from: data).vectors
    }()

    @Test("RFC 5869 SHA-256 test cases", arguments: HKDFTests.vectors.map(\.name))
    func rfc5869(name: String) throws {
        let vector = try #require(Self.vectors.first { $0.name == name })
        let prk = HKDF.extract(.sha256, salt: hex(vector.salt), ikm: SecureBytes(hex(vector.ikm)))
        #expect(hexString(prk.unsafeCopyToArray()) == vector.prk)
        let okm = try HKDF.expand(.sha256, prk: prk, info: hex(vector.info), length: vector.L)
        #expect(hexString(okm.unsafeCopyToArray()) == vector.okm)
        let oneShot = try HKDF.deriveKey(.sha256, ikm: SecureBytes(hex(vector.ikm)), salt: hex(vector.salt),
                                         info: hex(vector.info), length: vector.L)
        #expect(oneShot == okm)
    }

    @Test("an empty salt equals HashLen zero bytes")
    func emptySalt() {
        let ikm = SecureBytes(Array("input".utf8))
        #expect(HKDF.extract(.sha384, salt: [], ikm: ikm) == HKDF.extract(.sha384, salt: [UInt8](repeating: 0, count: 48), ikm: ikm))
    }

    @Test("out-of-range lengths are refused")
    func lengthLimits() {
        let prk = SecureBytes(count: 32)
        #expect(cryptoErrorCode { _ = try HKDF.expand(.sha256, prk: prk, info: [], length: 255 * 32 + 1) } == .invalidInput)
        #expect(cryptoErrorCode { _ = try HKDF.expand(.sha256, prk: prk, info: [], length: 0) } == .invalidInput)
        #expect(cryptoErrorCode { _ = try HKDF.expand(.sha256, prk: SecureBytes(count: 8), info: [], length: 16) } == .invalidInput)
        #expect(throws: Never.self) { _ = try HKDF.expand(.sha256, prk: prk, info: [], length: 255 * 32) }
    }
}
