import Foundation
import Testing
@testable import EnclavaCrypto

/// Real AMD SEV-SNP certificates from ../shared/testdata/attestation/sev-snp (see PROVENANCE.md there).
enum AMDCertificates {
    static func file(_ path: String) -> URL { TestPaths.sevSNP.appendingPathComponent(path) }

    static func chain(_ path: String) throws -> (intermediate: Certificate, root: Certificate) {
        let certificates = try Certificate.parseChain(pem: readText(file(path)))
        try #require(certificates.count >= 2)
        return (certificates[0], certificates[1])
    }

    static func der(_ path: String) throws -> Certificate {
        try Certificate(derRepresentation: readBytes(file(path)))
    }

    /// The time go-sev-guest's own tests verify attestation.bin at (PROVENANCE.md, set A).
    static let goSevGuestTime = isoDate("2022-09-24T01:00:00Z")
}

@Suite("X.509 certificates (real AMD SEV-SNP data)")
struct CertificateTests {
    @Test("fields of the go-sev-guest Milan VCEK")
    func vcekFields() throws {
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        #expect(vcek.subjectCommonName == "SEV-VCEK")
        #expect(vcek.subject.hasPrefix("CN=SEV-VCEK,O=Advanced Micro Devices"))
        #expect(vcek.issuer.hasPrefix("CN=SEV-Milan,"))
        #expect(vcek.serialNumber == [0])   // AMD VCEKs have serial 0
        #expect(vcek.notBefore == isoDate("2022-09-24T00:55:28Z"))
        #expect(vcek.notAfter == isoDate("2029-09-24T00:55:28Z"))
        #expect(!vcek.isSelfSigned && !vcek.isCA)
        #expect(vcek.signatureAlgorithmOID == "1.2.840.113549.1.1.10")   // RSASSA-PSS
        // productName: IA5String "Milan-B0".
        #expect(vcek.extensionValue(oid: "1.3.6.1.4.1.3704.1.2") == [0x16, 0x08] + Array("Milan-B0".utf8))
        // hwID: AMD stores the 64 raw chip-id bytes as the extnValue itself, with no inner DER (PROVENANCE.md, set A).
        let chipID = hex("3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d")
        #expect(vcek.extensionValue(oid: "1.3.6.1.4.1.3704.1.4") == chipID)
        #expect(vcek.extensionValue(oid: "1.2.3.4") == nil)
        #expect(vcek.extensionOIDs.contains("1.3.6.1.4.1.3704.1.3.8"))
        let key = try ECDSAPublicKey(spkiDER: vcek.subjectPublicKeyInfoDER)
        #expect(key.curve == .p384)
        #expect(vcek.sha256Fingerprint == SHA2.sha256(try readBytes(AMDCertificates.file("go-sev-guest/vcek.testcer"))))
        #expect(try Certificate(pem: vcek.pemRepresentation) == vcek)
    }

    @Test("the ARK is a self-signed RSA-4096 CA; the ASK is not self-signed")
    func rootFields() throws {
        let (ask, ark) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        #expect(ark.subjectCommonName == "ARK-Milan" && ark.isSelfSigned && ark.isCA)
        #expect(ask.subjectCommonName == "SEV-Milan" && !ask.isSelfSigned && ask.isCA)
        #expect(try RSAPublicKey(spkiDER: ark.subjectPublicKeyInfoDER).bitCount == 4096)
        #expect(cryptoErrorCode { _ = try Certificate(pem: readText(AMDCertificates.file("go-sev-guest/ask_ark_milan.pem"))) } == .certificateInvalid)
    }

    @Test("RSASSA-PSS (SHA-384, salt 48) signatures of AMD certificates verify by hand")
    func pssByHand() throws {
        let (ask, ark) = try AMDCertificates.chain("go-sev-guest/ask_ark_milan.pem")
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        let arkKey = try RSAPublicKey(spkiDER: ark.subjectPublicKeyInfoDER)
        let askKey = try RSAPublicKey(spkiDER: ask.subjectPublicKeyInfoDER)
        #expect(arkKey.isValidPSSSignature(ask.signatureValue, for: ask.tbsCertificateDER, digest: .sha384, saltLength: 48))
        #expect(arkKey.isValidPSSSignature(ark.signatureValue, for: ark.tbsCertificateDER, digest: .sha384, saltLength: 48))
        #expect(askKey.isValidPSSSignature(vcek.signatureValue, for: vcek.tbsCertificateDER, digest: .sha384, saltLength: 48))
        // Wrong salt length, wrong key, wrong message.
        #expect(!arkKey.isValidPSSSignature(ask.signatureValue, for: ask.tbsCertificateDER, digest: .sha384, saltLength: 32))
        #expect(!askKey.isValidPSSSignature(ask.signatureValue, for: ask.tbsCertificateDER, digest: .sha384, saltLength: 48))
        #expect(!arkKey.isValidPSSSignature(ask.signatureValue, for: vcek.tbsCertificateDER, digest: .sha384, saltLength: 48))
    }

    @Test("the VCEK's ECDSA P-384 key verifies the real attestation report")
    func reportSignature() throws {
        let report = try readBytes(AMDCertificates.file("go-sev-guest/attestation.bin"))
        try #require(report.count == 1184)
        let vcek = try AMDCertificates.der("go-sev-guest/vcek.testcer")
        let key = try ECDSAPublicKey(spkiDER: vcek.subjectPublicKeyInfoDER)
        // R and S are 72-byte little-endian fields at 0x2A0 and 0x2E8.
        let r = Array(report[0x2A0..<0x2E8].reversed())
        let s = Array(report[0x2E8..<0x330].reversed())
        let signature = ECDSASignature(r: r, s: s)
        #expect(key.isValidSignature(signature, for: Array(report[0..<0x2A0]), digest: .sha384))
        var tampered = Array(report[0..<0x2A0])
        tampered[0x50] ^= 1
        #expect(!key.isValidSignature(signature, for: tampered, digest: .sha384))
    }

    @Test("malformed input is refused")
    func malformed() throws {
        #expect(cryptoErrorCode { _ = try Certificate(derRepresentation: [0x30, 0x03, 0x02, 0x01, 0x00]) } == .certificateInvalid)
        let der = try readBytes(AMDCertificates.file("go-sev-guest/vcek.testcer"))
        #expect(cryptoErrorCode { _ = try Certificate(derRepresentation: der + [0]) } == .certificateInvalid)
        #expect(cryptoErrorCode { _ = try Certificate(derRepresentation: Array(der.dropLast(5))) } == .certificateInvalid)
        #expect(cryptoErrorCode { _ = try Certificate.parseChain(pem: "no certificates here") } == .certificateInvalid)
    }
}
