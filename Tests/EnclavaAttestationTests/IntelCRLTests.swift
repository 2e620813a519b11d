import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Certificate revocation lists: Intel's real CRLs, and a generated hierarchy shaped like Intel's
/// (root ← PCK CA ← PCK leaf) to check that a listed certificate is refused.
@Suite struct IntelCRLTests {
    static let pckCRLTime = TestData.date("2023-07-01T01:00:00Z")

    @Test func intelPCKPlatformCRL() throws {
        let crl = try CertificateRevocationList(derRepresentation: IntelTestData.bytes("tdx/go-tdx-guest/pckcrl"))
        #expect(crl.issuer.contains("CN=Intel SGX PCK Platform CA"))
        #expect(crl.thisUpdate == TestData.date("2023-06-08T07:27:52Z"))
        #expect(crl.nextUpdate == TestData.date("2023-07-08T07:27:52Z"))
        #expect(crl.revokedSerialNumbers.count == 44)
        let issuers = try Certificate.parseChain(pem: IntelTestData.text("tdx/go-tdx-guest/pck-crl-issuer-chain.EXTRACTED.pem"))
        #expect(crl.isSignedBy(issuers[0]))
        #expect(!crl.isSignedBy(issuers[1]))
        try crl.verify(issuer: issuers[0], at: Self.pckCRLTime)
        #expect(throws: CryptoError.self) { try crl.verify(issuer: issuers[0], at: TestData.date("2023-07-09T00:00:00Z")) }
        #expect(throws: CryptoError.self) { try crl.verify(issuer: issuers[0], at: TestData.date("2023-06-01T00:00:00Z")) }
        // The quote's PCK leaf is not revoked, and its whole chain verifies with both CRLs.
        let chain = try TDXQuote(parsing: IntelTestData.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")).signatureData.parsePCKChain()
        let root = try CertificateRevocationList(derRepresentation: IntelTestData.bytes("tdx/go-tdx-guest/rootcrl.der"))
        #expect(root.revokedSerialNumbers.isEmpty)
        #expect(!crl.isRevoked(chain[0]))
        try CertificateChain.verify(
            leaf: chain[0], intermediates: [chain[1]], trustAnchors: [IntelRootCertificates.sgxRootCA], crls: [crl, root],
            at: Self.pckCRLTime)
        // Without the Root CA CRL the intermediate's revocation status is unknown: refused.
        #expect(throws: CryptoError.self) {
            try CertificateChain.verify(
                leaf: chain[0], intermediates: [chain[1]], trustAnchors: [IntelRootCertificates.sgxRootCA], crls: [crl],
                at: Self.pckCRLTime)
        }
    }

    @Test func crlParsingRefusesGarbage() throws {
        let der = try IntelTestData.bytes("tdx/go-tdx-guest/rootcrl.der")
        #expect(throws: CryptoError.self) { try CertificateRevocationList(derRepresentation: Array(der.dropLast())) }
        #expect(throws: CryptoError.self) { try CertificateRevocationList(derRepresentation: der + [0]) }
        #expect(throws: CryptoError.self) { try CertificateRevocationList(derRepresentation: []) }
        #expect(throws: CryptoError.self) { try CertificateRevocationList(pem: "not a CRL") }
    }

    /// A generated root ← CA ← leaf hierarchy with a CRL from each CA.
    struct Hierarchy {
        let rootKey: ECDSAPrivateKey
        let caKey: ECDSAPrivateKey
        let root: Certificate
        let ca: Certificate
        let leaf: Certificate
        let start = TestData.date("2024-01-01T00:00:00Z")

        init() throws {
            rootKey = try .generate(curve: .p256)
            caKey = try .generate(curve: .p256)
            let leafKey = try ECDSAPrivateKey.generate(curve: .p256)
            let end = TestData.date("2030-01-01T00:00:00Z")
            root = try CertificateBuilder(subject: [("CN", "Test SGX Root CA")], notBefore: start, notAfter: end, isCA: true)
                .build(subjectPublicKeySPKI: rootKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(rootKey, .sha256))
            ca = try CertificateBuilder(subject: [("CN", "Test SGX PCK Platform CA")], notBefore: start, notAfter: end, isCA: true)
                .build(subjectPublicKeySPKI: caKey.publicKey.spkiDER, issuer: root, signer: .ecdsa(rootKey, .sha256))
            leaf = try CertificateBuilder(subject: [("CN", "Test SGX PCK Certificate")], notBefore: start, notAfter: end, isCA: false)
                .build(subjectPublicKeySPKI: leafKey.publicKey.spkiDER, issuer: ca, signer: .ecdsa(caKey, .sha256))
        }

        func crls(revokingLeaf: Bool = false, revokingCA: Bool = false) throws -> (pck: CertificateRevocationList, root: CertificateRevocationList) {
            let next = start.addingTimeInterval(30 * 86400)
            return (
                try .build(issuer: ca, signer: .ecdsa(caKey, .sha256), revokedSerialNumbers: revokingLeaf ? [[0x77], leaf.serialNumber] : [[0x77]],
                           thisUpdate: start, nextUpdate: next),
                try .build(issuer: root, signer: .ecdsa(rootKey, .sha256), revokedSerialNumbers: revokingCA ? [ca.serialNumber] : [],
                           thisUpdate: start, nextUpdate: next))
        }

        func collateral(_ crls: (pck: CertificateRevocationList, root: CertificateRevocationList)) throws -> VerifiedCollateral {
            // The TCB Info and QE Identity are not used by the chain check; real ones stand in.
            let json = try QuoteCollateral(dcapQVLJSON: IntelTestData.bytes("sgx/dcap-qvl/sgx_quote_collateral.json"))
            return VerifiedCollateral(
                tcbInfo: try JSONDecoder().decode(TCBInfo.self, from: Data(json.tcbInfo)),
                qeIdentity: try JSONDecoder().decode(QEIdentity.self, from: Data(json.qeIdentity)), pckCRL: crls.pck, rootCRL: crls.root)
        }
    }

    @Test func generatedCRLRoundTrips() throws {
        let hierarchy = try Hierarchy()
        let crls = try hierarchy.crls(revokingLeaf: true)
        let reparsed = try CertificateRevocationList(derRepresentation: crls.pck.derRepresentation)
        #expect(reparsed == crls.pck)
        #expect(reparsed.revokedSerialNumbers.contains(hierarchy.leaf.serialNumber))
        #expect(reparsed.isRevoked(hierarchy.leaf))
        #expect(!reparsed.isRevoked(hierarchy.ca))
        #expect(reparsed.isSignedBy(hierarchy.ca) && !reparsed.isSignedBy(hierarchy.root))
        #expect(throws: CryptoError.self) {
            _ = try CertificateRevocationList.build(
                issuer: hierarchy.ca, signer: .ecdsa(hierarchy.rootKey, .sha256), revokedSerialNumbers: [],
                thisUpdate: hierarchy.start, nextUpdate: hierarchy.start.addingTimeInterval(60))
        }
    }

    @Test func chainWithCRLsRefusesRevokedCertificates() throws {
        let h = try Hierarchy()
        let time = h.start.addingTimeInterval(86400)
        let good = try h.crls()
        try CertificateChain.verify(leaf: h.leaf, intermediates: [h.ca], trustAnchors: [h.root], crls: [good.pck, good.root], at: time)
        for crls in [try h.crls(revokingLeaf: true), try h.crls(revokingCA: true)] {
            #expect(throws: CryptoError.self) {
                try CertificateChain.verify(leaf: h.leaf, intermediates: [h.ca], trustAnchors: [h.root], crls: [crls.pck, crls.root], at: time)
            }
        }
        // An expired CRL is refused too.
        #expect(throws: CryptoError.self) {
            try CertificateChain.verify(leaf: h.leaf, intermediates: [h.ca], trustAnchors: [h.root], crls: [good.pck, good.root],
                                        at: h.start.addingTimeInterval(40 * 86400))
        }
    }

    /// The quote verifier's PCK chain step names revocation as such.
    @Test func pckChainStepRefusesRevokedLeafAndCA() throws {
        let h = try Hierarchy()
        let time = h.start.addingTimeInterval(86400)
        let chain = [h.leaf, h.ca, h.root]
        let root = try EvidenceVerifier.verifyPCKChain(chain, collateral: h.collateral(h.crls()), trustAnchors: [h.root], at: time)
        #expect(root == h.root)
        for crls in [try h.crls(revokingLeaf: true), try h.crls(revokingCA: true)] {
            let error = IntelTestData.attestationError {
                _ = try EvidenceVerifier.verifyPCKChain(chain, collateral: h.collateral(crls), trustAnchors: [h.root], at: time)
            }
            #expect(error?.code == AttestationError.Code.certificateRevoked && error?.field == "PCK chain")
        }
        // A PCK CRL from another CA (here the root's) is refused before the chain is checked.
        let good = try h.crls()
        let swapped = IntelTestData.attestationError {
            _ = try EvidenceVerifier.verifyPCKChain(chain, collateral: h.collateral((good.root, good.root)), trustAnchors: [h.root], at: time)
        }
        #expect(swapped?.code == AttestationError.Code.collateralInvalid && swapped?.field == "pck_crl")
    }
}
