import Foundation
import Testing
@testable import EnclavaCrypto

@Suite("CertificateBuilder")
struct CertificateBuilderTests {
    static let now = Date()
    static let validity = (now.addingTimeInterval(-3600), now.addingTimeInterval(86_400 * 365))

    struct Chain {
        let rootKey: RSAPrivateKey
        let root: Certificate
        let intermediateKey: RSAPrivateKey
        let intermediate: Certificate
        let leafKey: ECDSAPrivateKey
        let leaf: Certificate
    }

    /// ARK-shaped RSA-PSS root → ASK-shaped RSA-PSS intermediate → VCEK-shaped ECDSA P-384 leaf.
    static func makeChain(intermediateIsCA: Bool = true) throws -> Chain {
        let rootKey = try RSATests.key()
        let intermediateKey = try RSAPrivateKey.generate(bits: 2048)
        let leafKey = try ECDSAPrivateKey.generate(curve: .p384)
        let (from, until) = validity
        let root = try CertificateBuilder(subject: [("CN", "ARK-Sim"), ("O", "Enclava simulation")], serialNumber: [1],
                                          notBefore: from, notAfter: until, isCA: true)
            .build(subjectPublicKeySPKI: rootKey.publicKey.spkiDER, issuer: nil, signer: .rsaPSS(rootKey, .sha384, saltLength: 48))
        let intermediate = try CertificateBuilder(subject: [("CN", "SEV-Sim"), ("O", "Enclava simulation")], serialNumber: [2],
                                                  notBefore: from, notAfter: until, isCA: intermediateIsCA, pathLengthConstraint: 0)
            .build(subjectPublicKeySPKI: intermediateKey.publicKey.spkiDER, issuer: root, signer: .rsaPSS(rootKey, .sha384, saltLength: 48))
        let productName: [UInt8] = [0x16, 0x03] + Array("Sim".utf8)
        let leaf = try CertificateBuilder(subject: [("CN", "SEV-VCEK (simulated)"), ("O", "Enclava simulation")], serialNumber: [0],
                                          notBefore: from, notAfter: until,
                                          extensions: [(oid: "1.3.6.1.4.1.3704.1.2", critical: false, derValue: productName),
                                                       (oid: "1.3.6.1.4.1.3704.1.4", critical: false, derValue: [0x04, 0x02, 0xAB, 0xCD])])
            .build(subjectPublicKeySPKI: leafKey.publicKey.spkiDER, issuer: intermediate,
                   signer: .rsaPSS(intermediateKey, .sha384, saltLength: 48))
        return Chain(rootKey: rootKey, root: root, intermediateKey: intermediateKey, intermediate: intermediate, leafKey: leafKey, leaf: leaf)
    }

    @Test("RSA-PSS root → RSA-PSS intermediate → ECDSA P-384 leaf verifies, and its fields read back")
    func roundTrip() throws {
        let chain = try Self.makeChain()
        try CertificateChain.verify(leaf: chain.leaf, intermediates: [chain.intermediate], trustAnchors: [chain.root], at: Self.now)
        #expect(chain.root.isSelfSigned && chain.root.isCA && chain.intermediate.isCA && !chain.leaf.isCA)
        #expect(chain.leaf.subject == "O=Enclava simulation,CN=SEV-VCEK (simulated)")
        #expect(chain.leaf.issuer == chain.intermediate.subject)
        #expect(chain.leaf.serialNumber == [0] && chain.intermediate.serialNumber == [2])
        #expect(chain.leaf.signatureAlgorithmOID == "1.2.840.113549.1.1.10")
        #expect(chain.leaf.extensionValue(oid: "1.3.6.1.4.1.3704.1.2") == [0x16, 0x03] + Array("Sim".utf8))
        #expect(chain.leaf.extensionValue(oid: "1.3.6.1.4.1.3704.1.4") == [0x04, 0x02, 0xAB, 0xCD])
        #expect(chain.root.isExtensionCritical(oid: "2.5.29.19") == true)
        #expect(abs(chain.leaf.notBefore.timeIntervalSince(Self.validity.0)) < 1)
        #expect(try ECDSAPublicKey(spkiDER: chain.leaf.subjectPublicKeyInfoDER) == chain.leafKey.publicKey)
        // The PSS parameters are SHA-384 / salt 48, as on AMD's certificates.
        let intermediateKey = try RSAPublicKey(spkiDER: chain.intermediate.subjectPublicKeyInfoDER)
        #expect(intermediateKey.isValidPSSSignature(chain.leaf.signatureValue, for: chain.leaf.tbsCertificateDER, digest: .sha384, saltLength: 48))
        // The PEM and DER forms parse back to the same certificate.
        #expect(try Certificate(pem: chain.leaf.pemRepresentation) == chain.leaf)
        #expect(try Certificate.parseChain(pem: chain.intermediate.pemRepresentation + chain.root.pemRepresentation) == [chain.intermediate, chain.root])
    }

    @Test("an ECDSA-signed chain verifies too")
    func ecdsaChain() throws {
        let rootKey = try ECDSAPrivateKey.generate(curve: .p384)
        let leafKey = try ECDSAPrivateKey.generate(curve: .p256)
        let (from, until) = Self.validity
        let root = try CertificateBuilder(subject: [("CN", "Root")], notBefore: from, notAfter: until, isCA: true)
            .build(subjectPublicKeySPKI: rootKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(rootKey, .sha384))
        let leaf = try CertificateBuilder(subject: [("CN", "Leaf")], notBefore: from, notAfter: until)
            .build(subjectPublicKeySPKI: leafKey.publicKey.spkiDER, issuer: root, signer: .ecdsa(rootKey, .sha384))
        try CertificateChain.verify(leaf: leaf, intermediates: [], trustAnchors: [root], at: Self.now)
        #expect(leaf.signatureAlgorithmOID == "1.2.840.10045.4.3.3")
    }

    @Test("the built chain fails at a time outside validity, with another root, or with a non-CA intermediate")
    func negatives() throws {
        let chain = try Self.makeChain()
        #expect(cryptoErrorCode {
            try CertificateChain.verify(leaf: chain.leaf, intermediates: [chain.intermediate], trustAnchors: [chain.root],
                                        at: Self.now.addingTimeInterval(86_400 * 400))
        } == .chainInvalid)
        // A root with the same name but another key.
        let impostorKey = try ECDSAPrivateKey.generate(curve: .p384)
        let impostor = try CertificateBuilder(subject: [("CN", "ARK-Sim"), ("O", "Enclava simulation")], notBefore: Self.validity.0,
                                              notAfter: Self.validity.1, isCA: true)
            .build(subjectPublicKeySPKI: impostorKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(impostorKey, .sha384))
        #expect(cryptoErrorCode {
            try CertificateChain.verify(leaf: chain.leaf, intermediates: [chain.intermediate], trustAnchors: [impostor], at: Self.now)
        } == .chainInvalid)
        let notCA = try Self.makeChain(intermediateIsCA: false)
        do {
            try CertificateChain.verify(leaf: notCA.leaf, intermediates: [notCA.intermediate], trustAnchors: [notCA.root], at: Self.now)
            Issue.record("a non-CA intermediate must not issue certificates")
        } catch let error as CryptoError {
            #expect(error.code == .chainInvalid)
            #expect(error.message.contains("CN=SEV-Sim"))
        }
    }

    @Test("mismatched signer keys and bad inputs are refused")
    func refusals() throws {
        let chain = try Self.makeChain()
        let stranger = try ECDSAPrivateKey.generate(curve: .p256)
        let (from, until) = Self.validity
        let builder = CertificateBuilder(subject: [("CN", "X")], notBefore: from, notAfter: until)
        #expect(cryptoErrorCode {
            _ = try builder.build(subjectPublicKeySPKI: stranger.publicKey.spkiDER, issuer: chain.root, signer: .ecdsa(stranger, .sha256))
        } == .invalidKey)
        #expect(cryptoErrorCode {
            _ = try builder.build(subjectPublicKeySPKI: chain.leafKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(stranger, .sha256))
        } == .invalidKey)
        var backwards = builder
        backwards.notAfter = from.addingTimeInterval(-1)
        #expect(cryptoErrorCode {
            _ = try backwards.build(subjectPublicKeySPKI: stranger.publicKey.spkiDER, issuer: nil, signer: .ecdsa(stranger, .sha256))
        } == .invalidInput)
        var badOID = builder
        badOID.extensions = [(oid: "not.an.oid", critical: false, derValue: [0x05, 0x00])]
        #expect(cryptoErrorCode {
            _ = try badOID.build(subjectPublicKeySPKI: stranger.publicKey.spkiDER, issuer: nil, signer: .ecdsa(stranger, .sha256))
        } == .invalidInput)
    }
}
