import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct AMDRootCertificateTests {
    /// The pinned fingerprints, written out here so that a changed embedded certificate fails a test.
    static let pinned: [(name: String, sha256: String, file: String)] = [
        ("ARK-Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd", "go-sev-guest/ask_ark_milan.pem"),
        ("ARK-Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1", "go-sev-guest/ask_ark_genoa.pem"),
        ("ARK-Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a", "go-sev-guest/ask_ark_turin_vcek.pem"),
    ]

    @Test func embeddedARKsHaveThePinnedFingerprints() throws {
        let roots = AMDRootCertificates.all
        #expect(roots.count == 3)
        for (root, pin) in zip(roots, Self.pinned) {
            #expect(root.subjectCommonName == pin.name)
            #expect(Hex.encode(SHA2.sha256(root.derRepresentation)) == pin.sha256)
            #expect(root.isSelfSigned)
            #expect(root.isCA)
        }
        #expect(AMDRootCertificates.fingerprints.map(\.sha256) == Self.pinned.map(\.sha256))
    }

    /// The embedded ARKs are byte-identical to the ARKs in every AMD chain file in ../shared.
    @Test func embeddedARKsEqualTheSharedFiles() throws {
        for pin in Self.pinned {
            #expect(try Hex.encode(SHA2.sha256(TestData.chain(pin.file)[1].derRepresentation)) == pin.sha256)
        }
        let files: [(String, Int, String)] = [
            ("go-sev-guest/ask_ark_milan_vlek.pem", 1, "ARK-Milan"), ("go-sev-guest/ask_ark_genoa_vlek.pem", 1, "ARK-Genoa"),
            ("go-sev-guest/ask_ark_turin_vlek.pem", 1, "ARK-Turin"), ("teekit-gcp/sev-gcp-cert-chain.pem", 1, "ARK-Milan"),
            ("trustee/milan_ask_ark_asvk.pem", 1, "ARK-Milan"),
        ]
        for (file, index, name) in files {
            let ark = try TestData.chain(file)[index]
            #expect(AMDRootCertificates.all.first { $0.subjectCommonName == name } == ark, "\(file)")
        }
    }

    /// Each embedded ASK and ASVK is the one in ../shared and chains to its ARK now and for years to come.
    @Test func embeddedIntermediatesChainToTheirARK() throws {
        let files = ["ask_ark_milan", "ask_ark_genoa", "ask_ark_turin_vcek", "ask_ark_milan_vlek", "ask_ark_genoa_vlek", "ask_ark_turin_vlek"]
        let shared = try files.map { try TestData.chain("go-sev-guest/\($0).pem")[0] }
        #expect(AMDIntermediateCertificates.all == shared)
        for ask in AMDIntermediateCertificates.all {
            #expect(AMDIntermediateCertificates.fingerprints[ask.subjectCommonName ?? ""] == Hex.encode(ask.sha256Fingerprint))
            try CertificateChain.verify(
                leaf: ask, intermediates: [], trustAnchors: AMDRootCertificates.all, at: TestData.date("2040-01-01T00:00:00Z"))
        }
    }

    /// An ARK is not interchangeable: an ASK does not verify under another product's ARK.
    @Test func intermediatesDoNotVerifyUnderAnotherARK() throws {
        for ask in AMDIntermediateCertificates.all {
            let others = AMDRootCertificates.all.filter { !ask.issuer.contains($0.subjectCommonName ?? "?") }
            #expect(others.count == 2)
            let error = #expect(throws: CryptoError.self) {
                try CertificateChain.verify(leaf: ask, intermediates: [], trustAnchors: others, at: TestData.date("2030-01-01T00:00:00Z"))
            }
            #expect(error?.code == .chainInvalid)
        }
    }
}

@Suite struct SNPProductTests {
    /// The CPUID → product map that ties a v3+ report to its ARK; every v3+ sample names its chain's product.
    @Test func cpuidNamesTheProduct() throws {
        #expect(EvidenceVerifier.snpProduct(family: 0x19, model: 0x01) == "Milan")
        #expect(EvidenceVerifier.snpProduct(family: 0x19, model: 0x11) == "Genoa")
        #expect(EvidenceVerifier.snpProduct(family: 0x19, model: 0xA0) == "Genoa")
        #expect(EvidenceVerifier.snpProduct(family: 0x1A, model: 0x02) == "Turin")
        #expect(EvidenceVerifier.snpProduct(family: 0, model: 0) == nil)
        #expect(EvidenceVerifier.snpProduct(family: 0x17, model: 0x31) == nil)
        for sample in SNPSample.all where sample.version >= 3 {
            let report = try SNPReport(parsing: sample.blob())
            #expect(EvidenceVerifier.snpProduct(family: report.cpuidFamily, model: report.cpuidModel) == sample.product, "\(sample.file)")
        }
    }
}
