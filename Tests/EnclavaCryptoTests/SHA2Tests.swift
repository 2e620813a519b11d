import Foundation
import Testing
@testable import EnclavaCrypto

@Suite("SHA-2, SecureBytes and constant-time compare")
struct SHA2Tests {
    @Test("FIPS 180 'abc' digests")
    func abc() {
        let abc = Array("abc".utf8)
        #expect(hexString(SHA2.sha256(abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(SHA2.sha384(abc)) == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
        #expect(hexString(SHA2.sha512(abc)) == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        #expect(DigestAlgorithm.sha384.byteCount == 48)
    }

    @Test("streaming equals one-shot, and a copied hasher is independent")
    func streaming() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = StreamingHasher(.sha384)
        hasher.update(Array(data[0..<1234]))
        var copy = hasher
        hasher.update(Array(data[1234...]))
        #expect(hasher.finalize() == SHA2.hash(.sha384, data))
        copy.update([1, 2, 3])
        #expect(copy.finalize() == SHA2.hash(.sha384, Array(data[0..<1234]) + [1, 2, 3]))
        #expect(hasher.finalize() == SHA2.hash(.sha384, []))   // finalize resets
    }

    @Test("hashFile streams a file and reports a missing one")
    func hashFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-hash-\(UUID().uuidString)")
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0) }
        try Data(data).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try SHA2.hashFile(.sha256, path: url.path) == SHA2.sha256(data))
        #expect(cryptoErrorCode { _ = try SHA2.hashFile(.sha256, path: url.path + ".missing") } == .invalidInput)
    }

    @Test("SecureBytes: equality, copy-on-write, append, slice, description")
    func secureBytes() {
        var a = SecureBytes([1, 2, 3])
        let b = a
        a.withUnsafeMutableBytes { $0[0] = 9 }
        #expect(b.unsafeCopyToArray() == [1, 2, 3])
        #expect(a.unsafeCopyToArray() == [9, 2, 3])
        #expect(a != b)
        a.append(b)
        a.append(contentsOf: [7])
        #expect(a.unsafeCopyToArray() == [9, 2, 3, 1, 2, 3, 7])
        #expect(a.slice(1..<3).unsafeCopyToArray() == [2, 3])
        #expect(SecureBytes(count: 4) == SecureBytes([0, 0, 0, 0]))
        #expect(SecureBytes(count: 4) != SecureBytes(count: 5))
        #expect("\(a)" == "SecureBytes(7 bytes)")
        let random = SecureBytes.random(count: 32)
        #expect(random.count == 32 && random != SecureBytes(count: 32))
    }

    @Test("constantTimeEquals")
    func constantTime() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(constantTimeEquals([], []))
        #expect(SecureRandom.bytes(count: 16).count == 16)
    }
}
