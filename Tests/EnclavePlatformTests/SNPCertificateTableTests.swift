import EnclavaAttestation
import EnclavaCrypto
import Testing
@testable import EnclavePlatform

@Suite struct SNPCertificateTableTests {
    static func sampleTable() throws -> SNPCertificateTable {
        let sample = try PlatformTestData.snpSample()
        return SNPCertificateTable(entries: [
            .init(guid: SNPCertificateTable.arkGUID, certificate: sample.ark),
            .init(guid: SNPCertificateTable.vcekGUID, certificate: sample.vcek),
            .init(guid: SNPCertificateTable.askGUID, certificate: sample.ask),
        ])
    }

    @Test func aTableRoundTripsAndGivesTheChainLeafFirst() throws {
        let sample = try PlatformTestData.snpSample()
        let table = try Self.sampleTable()
        let bytes = table.serialized(paddedTo: 0x2000)
        #expect(bytes.count == 0x2000)
        let parsed = try SNPCertificateTable(parsing: bytes)
        #expect(parsed == table)
        #expect(parsed.chain(for: .vcek) == [sample.vcek, sample.ask, sample.ark])
        // A VLEK-signed report needs the VLEK, which this table lacks: no chain rather than a wrong leaf.
        #expect(parsed.chain(for: .vlek).isEmpty)
        // The GUIDs are the documented ones, in string byte order.
        #expect(Hex.encode(SNPCertificateTable.vcekGUID) == "63da758de6644564adc5f4b93be8accd")
        #expect(Array(bytes[0..<16]) == SNPCertificateTable.arkGUID)
    }

    @Test func mixedEndianGUIDsAreFoundToo() throws {
        let sample = try PlatformTestData.snpSample()
        let mixed = SNPCertificateTable(entries: [
            .init(guid: SNPCertificateTable.mixedEndian(SNPCertificateTable.vcekGUID), certificate: sample.vcek),
            .init(guid: SNPCertificateTable.mixedEndian(SNPCertificateTable.askGUID), certificate: sample.ask),
            .init(guid: SNPCertificateTable.mixedEndian(SNPCertificateTable.arkGUID), certificate: sample.ark),
        ])
        #expect(Hex.encode(mixed.entries[0].guid) == "8d75da6364e66445adc5f4b93be8accd")
        let parsed = try SNPCertificateTable(parsing: mixed.serialized())
        #expect(parsed.chain(for: .vcek) == [sample.vcek, sample.ask, sample.ark])
        #expect(SNPCertificateTable.name(parsed.entries[0].guid) == "VCEK")
    }

    @Test func randomAndMutatedTablesNeverCrash() throws {
        let good = try Self.sampleTable().serialized()
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = good
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    // Mutations aimed at the header, where offsets and lengths live.
                    let index = Int.random(in: 0..<min(bytes.count, 4 * SNPCertificateTable.entryByteCount), using: &generator)
                    bytes[index] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            do {
                let table = try SNPCertificateTable(parsing: bytes)
                for entry in table.entries { #expect(!entry.certificate.isEmpty) }
            } catch let error as PlatformError {
                #expect(error.code == .invalidEvidence)
            }
        }
    }

    @Test func emptyOrZeroBuffersAreAnEmptyTable() throws {
        #expect(try SNPCertificateTable(parsing: []).entries.isEmpty)
        #expect(try SNPCertificateTable(parsing: [UInt8](repeating: 0, count: 4096)).entries.isEmpty)
        #expect(try SNPCertificateTable(parsing: SNPCertificateTable(entries: []).serialized()).entries.isEmpty)
    }

    @Test func damagedTablesAreRefused() throws {
        let good = try Self.sampleTable().serialized()
        func refused(_ bytes: [UInt8], _ label: String) {
            let error = #expect(throws: PlatformError.self, "\(label)") { try SNPCertificateTable(parsing: bytes) }
            #expect(error?.code == .invalidEvidence, "\(label)")
        }
        // Truncated anywhere inside the header or the certificates.
        for cut in stride(from: 1, to: good.count, by: 97) { refused(Array(good.prefix(cut)), "truncated to \(cut)") }
        // Every offset and length field pushed out of range or into the header.
        for entry in 0..<3 {
            let base = entry * SNPCertificateTable.entryByteCount
            var outside = good
            outside.replaceSubrange((base + 16)..<(base + 20), with: LittleEndian.bytes(UInt32(good.count)))
            refused(outside, "entry \(entry) offset past the end")
            var intoHeader = good
            intoHeader.replaceSubrange((base + 16)..<(base + 20), with: LittleEndian.bytes(UInt32(8)))
            refused(intoHeader, "entry \(entry) offset inside the header")
            var long = good
            long.replaceSubrange((base + 20)..<(base + 24), with: LittleEndian.bytes(UInt32.max))
            refused(long, "entry \(entry) length overflowing")
            var zeroLength = good
            zeroLength.replaceSubrange((base + 20)..<(base + 24), with: LittleEndian.bytes(UInt32(0)))
            refused(zeroLength, "entry \(entry) length zero")
        }
        // A repeated GUID.
        var twice = good
        twice.replaceSubrange(24..<40, with: SNPCertificateTable.arkGUID)
        refused(twice, "ARK twice")
        // A certificate whose DER is damaged.
        var damaged = good
        let firstCertificate = (3 + 1) * SNPCertificateTable.entryByteCount
        damaged[firstCertificate] ^= 0xFF
        refused(damaged, "damaged DER")
        // No terminating entry: entries all the way to the end.
        refused([UInt8](repeating: 0x41, count: SNPCertificateTable.entryByteCount * 3), "no terminator")
    }
}
