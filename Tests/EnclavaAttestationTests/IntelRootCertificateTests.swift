import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct IntelRootCertificateTests {
    /// The pinned fingerprint from PROVENANCE.md and evidence-formats.md.
    @Test func embeddedRootIsTheIntelSGXRootCA() throws {
        let root = IntelRootCertificates.sgxRootCA
        #expect(Hex.encode(root.sha256Fingerprint) == "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3")
        #expect(IntelRootCertificates.sgxRootCAFingerprint == Hex.encode(root.sha256Fingerprint))
        #expect(root.isSelfSigned)
        #expect(root.subjectCommonName == "Intel SGX Root CA")
        #expect(root.notAfter == TestData.date("2049-12-31T23:59:59Z"))
    }

    @Test(arguments: ["tdx/dcap-qvl/TrustedRootCA.der", "sgx/dcap-qvl/TrustedRootCA.der"])
    func embeddedRootEqualsTheSampleRoots(_ file: String) throws {
        #expect(try Certificate(derRepresentation: IntelTestData.bytes(file)) == IntelRootCertificates.sgxRootCA)
    }

    @Test func embeddedRootEqualsGoTDXGuestRoot() throws {
        #expect(try Certificate(pem: IntelTestData.text("tdx/go-tdx-guest/trusted_root.pem")) == IntelRootCertificates.sgxRootCA)
    }

    /// Every quote's chain ends in the same root.
    @Test(arguments: IntelTestData.samples)
    func everySampleChainEndsInTheRoot(_ sample: IntelTestData.Sample) throws {
        let bytes = try IntelTestData.bytes(sample.file)
        let chain = sample.platform == .tdx
            ? try TDXQuote(parsing: bytes).signatureData.parsePCKChain() : try SGXQuote(parsing: bytes).signatureData.parsePCKChain()
        #expect(chain.count == 3)
        #expect(chain.last == IntelRootCertificates.sgxRootCA)
    }
}
