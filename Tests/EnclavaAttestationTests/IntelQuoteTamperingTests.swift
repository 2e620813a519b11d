import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated negative cases: one flipped bit in every byte of each signed region, truncation at every
/// length, hostile length fields and random mutations. Each is refused with the error of the check it
/// breaks; none may crash.
@Suite struct IntelQuoteTamperingTests {
    typealias Sample = IntelTestData.Sample

    static func flipped(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
        var copy = bytes
        copy[offset] ^= 1 << UInt8(offset % 8)
        return copy
    }

    static func error(_ sample: Sample, _ quote: [UInt8], at time: Date? = nil) -> AttestationError? {
        IntelTestData.attestationError { try IntelTestData.verify(sample, quote: quote, at: time) }
    }

    /// The field the header check names for a flipped header byte; nil where only the signature covers it.
    static func headerField(_ offset: Int, isTDX: Bool) -> String? {
        switch offset {
        case 0..<2: return "header.version"
        case 2..<4: return "header.att_key_type"
        case 4..<8: return isTDX ? "header.tee_type" : nil
        case 12..<28: return "header.qe_vendor_id"
        default: return nil
        }
    }

    @Test(arguments: IntelTestData.samples)
    func everyHeaderBitIsChecked(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        for offset in layout.header {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            if offset < 2 {
                // A version flip (4 ↔ 5) makes the rest parse as the other layout, which fails somewhere else.
                #expect(error?.code == .malformedEvidence, "header byte \(offset): \(String(describing: error))")
            } else if let field = Self.headerField(offset, isTDX: layout.isTDX) {
                #expect(error?.code == .malformedEvidence && error?.field == field, "header byte \(offset): \(String(describing: error))")
            } else {
                #expect(error?.code == .signatureInvalid && error?.field == "quote signature", "header byte \(offset): \(String(describing: error))")
            }
        }
    }

    @Test(arguments: IntelTestData.samples)
    func everyBodyBitIsSigned(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        for offset in 48..<layout.bodyOffset {   // v5 body_type and body_size
            #expect(Self.error(sample, Self.flipped(layout.bytes, at: offset))?.code == .malformedEvidence)
        }
        for offset in layout.body {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            #expect(error?.code == .signatureInvalid && error?.field == "quote signature", "body byte \(offset - layout.bodyOffset): \(String(describing: error))")
        }
    }

    @Test(arguments: IntelTestData.samples)
    func signaturesAndAttestationKeyAreChecked(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        for offset in layout.quoteSignature {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            #expect(error?.code == .signatureInvalid && error?.field == "quote signature")
        }
        for offset in layout.attestationKey {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            #expect(error?.code == .signatureInvalid && ["quote signature", "attestation_key"].contains(error?.field))
        }
        for offset in layout.qeReportSignature {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            #expect(error?.code == .signatureInvalid && error?.field == "QE report signature")
        }
    }

    /// A flipped QE report bit breaks the QE report signature — or, in its report data, the key binding first.
    /// Each sample flips every third byte, staggered by the sample's index, so that the samples together
    /// cover every byte of the QE report layout (each case parses the PCK chain, which is slow in debug builds).
    @Test(arguments: IntelTestData.samples)
    func everyQEReportBitIsSigned(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        let stagger = IntelTestData.samples.firstIndex { $0.file == sample.file }! % 3
        for offset in stride(from: layout.qeReport.lowerBound + stagger, to: layout.qeReport.upperBound, by: 3) {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            if offset - layout.qeReport.lowerBound >= 320 {
                #expect(error?.code == AttestationError.Code.qeReportDataMismatch && error?.field == "QE_REPORT.REPORTDATA")
            } else {
                #expect(error?.code == .signatureInvalid && error?.field == "QE report signature", "QE report byte \(offset - layout.qeReport.lowerBound): \(String(describing: error))")
            }
        }
    }

    @Test(arguments: IntelTestData.samples)
    func everyQEAuthDataBitIsBound(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        #expect(layout.qeAuthData.count == 32)
        for offset in layout.qeAuthData {
            let error = Self.error(sample, Self.flipped(layout.bytes, at: offset))
            #expect(error?.code == AttestationError.Code.qeReportDataMismatch && error?.field == "QE_REPORT.REPORTDATA")
        }
    }

    /// Cut at every length short of the quote's own length: always malformed, never a crash.
    @Test(arguments: IntelTestData.samples)
    func truncationAtEveryLengthIsMalformed(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        for length in 0..<layout.byteCount {
            let error = Self.error(sample, Array(layout.bytes[0..<length]))
            #expect(error?.code == .malformedEvidence, "length \(length): \(String(describing: error))")
        }
        // Exactly the quote's own length verifies; trailing bytes are ignored.
        #expect(Self.error(sample, Array(layout.bytes[0..<layout.byteCount]))?.code == sample.refusal)
        #expect(Self.error(sample, layout.bytes + Array("trailing".utf8))?.code == sample.refusal)
    }

    /// Hostile values in every length field of the signature data: refused or (when the signed content is
    /// untouched) still verified, never a crash and never another error type.
    @Test(arguments: IntelTestData.samples)
    func hostileLengthFields(_ sample: Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        var fields: [(offset: Int, size: Int)] = [(layout.signedEnd, 4), (layout.qeAuthData.lowerBound - 2, 2),
                                                  (layout.pckChainHeader + 2, 4), (layout.pckChainHeader, 2)]
        if layout.isTDX { fields.append((layout.signatureOffset + 128, 2)); fields.append((layout.signatureOffset + 130, 4)) }
        let values: [UInt32] = [0, 1, 5, 6, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0xFFFF_FFFF]
        for field in fields {
            for value in values {
                var quote = layout.bytes
                for index in 0..<field.size { quote[field.offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
                let error = Self.error(sample, quote)
                #expect(error?.field != "NOT AN AttestationError", "\(String(describing: error))")
            }
        }
    }

    /// Random mutations and random garbage (seeded): only AttestationErrors, never a crash.
    @Test(arguments: IntelTestData.samples)
    func randomMutationsNeverCrash(_ sample: Sample) throws {
        let bytes = try IntelTestData.bytes(sample.file)
        var random = SplitMix64(state: UInt64(bytes.count))
        for _ in 0..<150 {
            var quote = bytes
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                quote[Int.random(in: 0..<quote.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { quote = Array(quote.prefix(Int.random(in: 0...quote.count, using: &random))) }
            #expect(Self.error(sample, quote)?.field != "NOT AN AttestationError")
        }
        for _ in 0..<50 {
            let garbage = (0..<Int.random(in: 0...6000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(Self.error(sample, garbage)?.code == .malformedEvidence)
        }
    }
}
