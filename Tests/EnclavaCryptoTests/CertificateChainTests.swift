import Foundation
import Testing
@testable import EnclavaCrypto

@Suite("Certificate chains (real AMD SEV-SNP data)")
struct CertificateChainTests {
    @Test("go-sev-guest: VCEK ← SEV-Milan ← ARK-Milan verifies at the time PROVENANCE.md gives")
    func milanChain() throws {
        let (ask, ark) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        try CertificateChain.verify(leaf: vcek, intermediates: [ask], trustAnchors: [ark], at: AMDCertificates.goSevGuestTime)
        // The root alone verifies against itself, and the ASK against the ARK.
        try CertificateChain.verify(leaf: ask, intermediates: [], trustAnchors: [ark], at: AMDCertificates.goSevGuestTime)
    }

    /// Leaf, chain file, and whether the chain file holds the ASK/ASVK first and the ARK second.
    static let realChains: [(String, String)] = [
        ("trustee/test-vcek.der", "go-sev-guest/ask_ark_milan.pem"),
        ("trustee/test-vlek.der", "go-sev-guest/ask_ark_milan_vlek.pem"),
        ("trustee/evidence.vcek.DERIVED.der", "go-sev-guest/ask_ark_genoa.pem"),
        ("virtee-sev/vcek_milan.der", "go-sev-guest/ask_ark_milan.pem"),
        ("virtee-sev/vcek_turin.der", "go-sev-guest/ask_ark_turin_vcek.pem"),
    ]

    @Test("every recorded VCEK/VLEK chains to its ARK a day after it was issued",
          arguments: CertificateChainTests.realChains.map { $0.0 + " <- " + $0.1 })
    func recordedChains(pair: String) throws {
        let parts = pair.components(separatedBy: " <- ")
        let leaf = try AMDCertificates.der(parts[0])
        let (intermediate, root) = try AMDCertificates.chain(parts[1])
        try CertificateChain.verify(leaf: leaf, intermediates: [intermediate], trustAnchors: [root],
                                    at: leaf.notBefore.addingTimeInterval(86_400))
    }

    @Test("a time before or after the VCEK's validity fails, naming the VCEK")
    func outsideValidity() throws {
        let (ask, ark) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        for time in [isoDate("2021-06-01T00:00:00Z"), isoDate("2030-01-01T00:00:00Z")] {
            do {
                try CertificateChain.verify(leaf: vcek, intermediates: [ask], trustAnchors: [ark], at: time)
                Issue.record("verification at \(time) should have failed")
            } catch let error as CryptoError {
                #expect(error.code == .chainInvalid)
                #expect(error.message.contains("CN=SEV-VCEK"))
                #expect(error.message.contains("not yet valid") || error.message.contains("expired"))
            }
        }
        // The VLEK of set B expired in December 2025.
        let vlek = try AMDCertificates.der("trustee/test-vlek.der")
        let (asvk, arkVLEK) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan_vlek.pem")
        #expect(cryptoErrorCode {
            try CertificateChain.verify(leaf: vlek, intermediates: [asvk], trustAnchors: [arkVLEK], at: isoDate("2026-06-01T00:00:00Z"))
        } == .chainInvalid)
    }

    @Test("a wrong root, a missing intermediate or no anchor fails")
    func wrongRoot() throws {
        let (ask, _) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        let (_, genoaARK) = try AMDCertificates.chain("go-sev-guest/ask_ark_genoa.pem")
        let (_, milanARK) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        let time = AMDCertificates.goSevGuestTime
        do {
            try CertificateChain.verify(leaf: vcek, intermediates: [ask], trustAnchors: [genoaARK], at: time)
            Issue.record("a Genoa root must not anchor a Milan chain")
        } catch let error as CryptoError {
            #expect(error.code == .chainInvalid)
            #expect(error.message.contains("CN=SEV-Milan"))
        }
        #expect(cryptoErrorCode { try CertificateChain.verify(leaf: vcek, intermediates: [], trustAnchors: [milanARK], at: time) } == .chainInvalid)
        #expect(cryptoErrorCode { try CertificateChain.verify(leaf: vcek, intermediates: [ask], trustAnchors: [], at: time) } == .chainInvalid)
        // The ASK itself is not a root, so trusting it alone is not enough.
        #expect(cryptoErrorCode { try CertificateChain.verify(leaf: vcek, intermediates: [], trustAnchors: [ask], at: time) } == .chainInvalid)
    }
}
