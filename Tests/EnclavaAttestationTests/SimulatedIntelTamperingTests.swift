import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated negatives on simulated quotes: one flipped bit in every byte of each signed region, through
/// the full client path (simulation allowed, root pinned). Each is refused by the check that covers it.
@Suite struct SimulatedIntelTamperingTests {
    typealias Quotes = SimulatedIntelQuoteTests

    struct Region: CustomStringConvertible, Sendable {
        let name: String
        let range: @Sendable (IntelQuoteLayout) -> Range<Int>
        /// The errors a flip in this region may give (code, field); the first check that covers it.
        let accepted: @Sendable (Int, IntelQuoteLayout) -> [(AttestationError.Code, String?)]
        var description: String { name }
    }

    static let quoteSignature: [(AttestationError.Code, String?)] = [(.signatureInvalid, "quote signature")]

    static let regions: [Region] = [
        Region(name: "header", range: { $0.header }) { offset, layout in
            switch offset {
            case 0..<4, 12..<28: [(.malformedEvidence, nil)]  // version, key type, QE vendor
            case 4..<8 where layout.isTDX: [(.malformedEvidence, "header.tee_type")]
            default: quoteSignature
            }
        },
        Region(name: "body", range: { $0.body }) { _, _ in quoteSignature },
        Region(name: "quote signature", range: { $0.quoteSignature }) { _, _ in quoteSignature },
        Region(name: "attestation key", range: { $0.attestationKey }) { _, _ in
            [(.signatureInvalid, "quote signature"), (.signatureInvalid, "attestation_key")]
        },
        Region(name: "QE report", range: { $0.qeReport }) { _, _ in
            [(.qeReportDataMismatch, "QE_REPORT.REPORTDATA"), (.signatureInvalid, "QE report signature")]
        },
        Region(name: "QE report signature", range: { $0.qeReportSignature }) { _, _ in
            [(.signatureInvalid, "QE report signature")]
        },
        Region(name: "QE auth data", range: { $0.qeAuthData }) { _, _ in [(.qeReportDataMismatch, "QE_REPORT.REPORTDATA")] },
    ]

    struct Case: CustomStringConvertible, Sendable {
        let platform: EvidencePlatform
        let region: Region
        var description: String { "\(platform.rawValue) \(region.name)" }
    }

    static let cases = [EvidencePlatform.tdx, .sgx].flatMap { platform in regions.map { Case(platform: platform, region: $0) } }

    @Test(arguments: cases) func everyFlippedBitIsRefused(_ c: Case) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try Quotes.evidence(c.platform, nonce: nonce)
        let policy = Quotes.policy(c.platform, roots: [intel.root])
        _ = try Quotes.verify(evidence, nonce: nonce, policy: policy)  // the untouched quote verifies
        let layout = try IntelQuoteLayout(evidence.blob, platform: c.platform)
        let range = c.region.range(layout)
        #expect(!range.isEmpty)
        for offset in range {
            var tampered = evidence
            tampered.blob[offset] ^= 1 << UInt8(offset % 8)
            let error = Quotes.error { _ = try Quotes.verify(tampered, nonce: nonce, policy: policy) }
            let accepted = c.region.accepted(offset - range.lowerBound, layout)
            let matches = accepted.contains { code, field in error?.code == code && (field == nil || error?.field == field) }
            #expect(matches, "\(c) byte \(offset - range.lowerBound): \(String(describing: error))")
        }
    }

    @Test(arguments: [EvidencePlatform.tdx, .sgx]) func aFlippedBitInThePCKCertificateIsRefused(_ platform: EvidencePlatform) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try Quotes.evidence(platform, nonce: nonce)
        let policy = Quotes.policy(platform, roots: [intel.root])
        let layout = try IntelQuoteLayout(evidence.blob, platform: platform)
        let der = intel.pck.derRepresentation
        var generator = SplitMix64(state: 0x51_4D_F0_0D)
        for _ in 0..<64 {
            let offset = Int.random(in: 0..<der.count, using: &generator)
            var flipped = der
            flipped[offset] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            // A DER that no longer parses is refused as malformed; one that parses breaks a signature.
            guard let certificate = try? Certificate(derRepresentation: flipped) else { continue }
            var tampered = evidence
            tampered.blob = layout.withPCKChain([certificate, intel.pckCA, intel.root])
            let error = Quotes.error { _ = try Quotes.verify(tampered, nonce: nonce, policy: policy) }
            #expect(error != nil, "PCK byte \(offset) accepted")
            #expect(error?.code != .simulationNotAllowed)
        }
    }

    @Test(arguments: [EvidencePlatform.tdx, .sgx]) func wrongSizesAreRefusedByTheQuoter(_ platform: EvidencePlatform) throws {
        let quoter = try Quotes.quoter.get()
        let error = #expect(throws: SimulatedPlatformError.self) {
            if platform == .tdx {
                _ = try quoter.tdxQuote(mrTD: [UInt8](repeating: 1, count: 32), reportData: [UInt8](repeating: 0, count: 64))
            } else {
                _ = try quoter.sgxQuote(mrEnclave: [UInt8](repeating: 1, count: 32), reportData: [UInt8](repeating: 0, count: 63))
            }
        }
        #expect(error?.code == .invalidArgument)
    }
}
