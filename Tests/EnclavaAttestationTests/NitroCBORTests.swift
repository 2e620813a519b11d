import Foundation
import Testing
@testable import EnclavaAttestation

/// The strict CBOR decoder: what it accepts, and each kind of input it refuses.
@Suite struct NitroCBORTests {
    func decode(_ bytes: [UInt8], limits: CBORDecoder.Limits = CBORDecoder.Limits()) throws -> CBORValue {
        try CBORDecoder.decode(bytes, limits: limits, structure: "test")
    }

    func refusal(_ bytes: [UInt8], limits: CBORDecoder.Limits = CBORDecoder.Limits()) -> AttestationError? {
        nitroError { _ = try decode(bytes, limits: limits) }
    }

    @Test func scalarsDecode() throws {
        #expect(try decode([0x00]) == .unsigned(0))
        #expect(try decode([0x17]) == .unsigned(23))
        #expect(try decode([0x18, 0x18]) == .unsigned(24))
        #expect(try decode([0x19, 0x01, 0x00]) == .unsigned(256))
        #expect(try decode([0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == .unsigned(.max))
        #expect(try decode([0x38, 0x22]) == .negative(34))
        #expect(try decode([0x38, 0x22]).integerValue == -35)
        #expect(try decode([0x3B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).integerValue == nil)
        #expect(try decode([0x43, 1, 2, 3]) == .bytes([1, 2, 3]))
        #expect(try decode([0x62, 0x68, 0x69]) == .text("hi"))
        #expect(try decode([0xF4]) == .bool(false))
        #expect(try decode([0xF5]) == .bool(true))
        #expect(try decode([0xF6]) == .null)
        #expect(try decode([0x82, 0x01, 0xA1, 0x61, 0x61, 0x40]) == .array([.unsigned(1), .map([.init(key: .text("a"), value: .bytes([]))])]))
    }

    @Test func encodingRoundTrips() throws {
        let values: [CBORValue] = [
            .unsigned(0), .unsigned(23), .unsigned(24), .unsigned(255), .unsigned(256), .unsigned(65535), .unsigned(65536),
            .unsigned(0xFFFF_FFFF), .unsigned(0x1_0000_0000), .unsigned(.max), .negative(0), .negative(.max),
            .bytes([UInt8](repeating: 7, count: 300)), .text("módulo"), .array((0..<30).map { .unsigned(UInt64($0)) }),
            .map([.init(key: .unsigned(1), value: .negative(34)), .init(key: .text("x"), value: .null)]), .bool(true),
        ]
        for value in values { #expect(try decode(value.encoded) == value, "\(value)") }
    }

    @Test func nestingLimitIsEnforced() throws {
        let limits = CBORDecoder.Limits(maxDepth: 8)
        func nested(_ depth: Int) -> [UInt8] { [UInt8](repeating: 0x81, count: depth) + [0x00] }
        #expect(try decode(nested(8), limits: limits) != .null)
        let error = refusal(nested(9), limits: limits)
        #expect(error?.code == .malformedEvidence)
        #expect(error?.expected == "depth at most 8")
        // Maps nest too, and a deep hostile input (100 000 levels) is refused without deep recursion.
        #expect(refusal([UInt8](repeating: 0xA1, count: 20).flatMap { [$0, 0x00] } + [0x00])?.expected == "depth at most 8")
        #expect(refusal([UInt8](repeating: 0x81, count: 100_000))?.code == .malformedEvidence)
    }

    @Test func hugeDeclaredLengthsAreRefusedBeforeAllocating() throws {
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        for major: UInt8 in [0x5B, 0x7B, 0x9B, 0xBB] {
            let error = refusal([major] + huge + [0x00])
            #expect(error?.code == .malformedEvidence, "major \(major >> 5)")
            #expect(error?.message.contains("exceeds") == true)
        }
        #expect(refusal([0x5A, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2])?.actual == "2147483647")
        // A map needs two items per entry: 2 entries in 3 bytes is impossible.
        #expect(refusal([0xA2, 0x00, 0x00, 0x00])?.message.contains("exceeds") == true)
        #expect(refusal([0x99, 0x01, 0x01] + [UInt8](repeating: 0, count: 257))?.expected == "at most 256")
        #expect(refusal([UInt8](repeating: 0x40, count: 10), limits: CBORDecoder.Limits(maxInputBytes: 9))?.expected == "at most 9 bytes")
    }

    @Test func indefiniteLengthsAreRefused() throws {
        for bytes: [UInt8] in [[0x5F, 0x41, 0x00, 0xFF], [0x7F, 0x61, 0x61, 0xFF], [0x9F, 0x00, 0xFF], [0xBF, 0x00, 0x00, 0xFF], [0xFF]] {
            let error = refusal(bytes)
            #expect(error?.code == .malformedEvidence)
            #expect(error?.message.contains("indefinite") == true, "\(bytes)")
        }
        #expect(refusal([0x1F])?.message.contains("indefinite") == true)
    }

    @Test func trailingBytesAreRefused() throws {
        let error = refusal([0x00, 0x00])
        #expect(error?.message.contains("1 trailing bytes") == true)
        #expect(refusal([0x81, 0x00, 0xF6])?.expected == "2 bytes")
        #expect(refusal([])?.message.contains("unexpected end") == true)
    }

    @Test func nonShortestArgumentsAreRefused() throws {
        for bytes: [UInt8] in [[0x18, 0x17], [0x19, 0x00, 0xFF], [0x1A, 0x00, 0x00, 0xFF, 0xFF], [0x1B, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF],
                               [0x58, 0x01, 0x00], [0x98, 0x00], [0x39, 0x00, 0x22]] {
            #expect(refusal(bytes)?.message.contains("shortest") == true, "\(bytes)")
        }
    }

    @Test func otherItemsAreRefused() throws {
        #expect(refusal([0xC0, 0x00])?.message.contains("tag") == true)
        #expect(refusal([0xD2, 0x80])?.message.contains("tag") == true)
        #expect(refusal([0xF9, 0x3C, 0x00])?.message.contains("floating") == true)
        #expect(refusal([0xFB, 0, 0, 0, 0, 0, 0, 0, 0])?.message.contains("floating") == true)
        #expect(refusal([0xF7])?.message.contains("simple value 23") == true)
        #expect(refusal([0xF8, 0x20])?.message.contains("simple value 24") == true)
        #expect(refusal([0x1C])?.message.contains("reserved") == true)
        #expect(refusal([0x62, 0xC3, 0x28])?.message.contains("UTF-8") == true)
        #expect(refusal([0xA2, 0x01, 0x00, 0x01, 0x00])?.message.contains("duplicate map key") == true)
    }

    /// Random inputs and mutations of the real document never crash; the decoder either decodes or throws.
    @Test func randomInputsNeverCrash() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<64, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? decode(bytes)
            _ = try? NitroAttestationDocument(parsing: bytes)
        }
        for _ in 0..<300 {
            var bytes = NitroSamples.normal
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? NitroAttestationDocument(parsing: bytes)
        }
    }
}
