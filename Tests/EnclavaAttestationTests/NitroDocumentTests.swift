import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// The two real documents parse, with the values PROVENANCE.md quotes.
@Suite struct NitroDocumentTests {
    static let pcr0 = "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a"
    static let pcr1 = "0343b056cd8485ca7890ddd833476d78460aed2aa161548e4e26bedf321726696257d623e8805f3f605946b3d8b0c6aa"
    static let pcr2 = "d5dcbdea0aa39c802f9d55ced2ea6e4d74ecec5f08fe40c508882639c9090642669106a062a3e24ee2805a3024b9b75c"
    static let pcr4 = "45706d7b621e4620a332e147a5ddb000b049f73d47d3e61f6b03d2069152d4df6a4a786ad1c10102b955799a9dc96b44"
    static let zeroPCR = [UInt8](repeating: 0, count: 48)

    @Test func normalSampleHasTheProvenanceValues() throws {
        #expect(NitroSamples.normal.count == 7539)
        #expect(NitroSamples.normal.first == 0x84)
        let document = try NitroAttestationDocument(parsing: NitroSamples.normal)
        #expect(document.moduleID == "i-0a22e5c5f24d22174-enc0191cceb4289903f")
        #expect(document.digest == "SHA384")
        #expect(document.timestamp == 1_725_719_859_545)
        #expect(document.date == NitroSamples.normalTime)
        #expect(document.pcrs.count == 16)
        #expect(document.pcr(0).map(Hex.encode) == Self.pcr0)
        #expect(document.pcr(1).map(Hex.encode) == Self.pcr1)
        #expect(document.pcr(2).map(Hex.encode) == Self.pcr2)
        #expect(document.pcr(3) == Self.zeroPCR)
        #expect(document.pcr(4).map(Hex.encode) == Self.pcr4)
        for index in 5..<16 { #expect(document.pcr(index) == Self.zeroPCR, "PCR\(index)") }
        #expect(!document.isDebug)
        let ones = [UInt8](repeating: 0x01, count: 1024)
        #expect(document.publicKey == ones)
        #expect(document.userData == ones)
        #expect(document.nonce == ones)
        #expect(document.cose.algorithm == COSESign1.es384)
        #expect(document.cose.signature.count == 96)
    }

    @Test func debugSampleHasZeroPCRsAndIsDebug() throws {
        #expect(NitroSamples.debug.count == 7538)
        let document = try NitroAttestationDocument(parsing: NitroSamples.debug)
        #expect(document.moduleID == "i-0a22e5c5f24d22174-enc0191ccebaf8feaba")
        #expect(document.timestamp == 1_725_719_886_508)
        #expect(document.date == NitroSamples.debugTime)
        for index in [0, 1, 2, 3] + Array(5..<16) { #expect(document.pcr(index) == Self.zeroPCR, "PCR\(index)") }
        #expect(document.pcr(4).map(Hex.encode) == Self.pcr4)
        #expect(document.isDebug)
        #expect(document.userData == [UInt8](repeating: 0x01, count: 1024))
    }

    @Test func chainInTheBundleIsTheOneProvenanceDescribes() throws {
        let document = try NitroAttestationDocument(parsing: NitroSamples.normal)
        #expect(document.caBundle.count == 4)
        let bundle = try document.caBundle.map(Certificate.init(derRepresentation:))
        #expect(bundle[0] == NitroRootCertificates.rootG1)
        #expect(bundle[1].subjectCommonName == "ec28cbbaae08094d.us-east-1.aws.nitro-enclaves")
        #expect(bundle[2].subjectCommonName?.hasPrefix("68a8a693dd2153f6.zonal.us-east-1") == true)
        #expect(bundle[3].subjectCommonName?.hasPrefix("i-0a22e5c5f24d22174.us-east-1") == true)
        let leaf = try Certificate(derRepresentation: document.certificate)
        #expect(leaf.notBefore == ISO8601DateFormatter().date(from: "2024-09-07T14:37:36Z"))
        #expect(leaf.notAfter == ISO8601DateFormatter().date(from: "2024-09-07T17:37:39Z"))
    }

    /// The samples use preferred (shortest) CBOR everywhere, so decoding and re-encoding gives the same bytes:
    /// the decoder loses nothing that is signed.
    @Test func samplesReencodeByteForByte() throws {
        for sample in [NitroSamples.normal, NitroSamples.debug] {
            let cose = try COSESign1(parsing: sample)
            #expect(try CBORDecoder.decode(sample, structure: "COSE").encoded == sample)
            #expect(try CBORDecoder.decode(cose.payload, structure: "payload").encoded == cose.payload)
            #expect(cose.signatureStructure.count == cose.payload.count + 1 + 11 + 1 + 4 + 1 + 3)
        }
    }

    @Test func aLeadingCOSESign1TagIsAccepted() throws {
        let document = try NitroAttestationDocument(parsing: [0xD2] + NitroSamples.normal)
        #expect(document == (try NitroAttestationDocument(parsing: NitroSamples.normal)))
        #expect(nitroError { _ = try NitroAttestationDocument(parsing: [0xD8, 0x12] + NitroSamples.normal) }?.code == .malformedEvidence)
    }

    @Test func rootIsPinned() throws {
        let root = NitroRootCertificates.rootG1
        #expect(Hex.encode(root.sha256Fingerprint) == "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b")
        #expect(Hex.encode(root.sha256Fingerprint) == NitroRootCertificates.rootG1Fingerprint)
        #expect(root.subjectCommonName == "aws.nitro-enclaves")
        #expect(root.isSelfSigned)
        let shared = try Certificate(pem: String(contentsOf: NitroSamples.folder.appendingPathComponent("root.pem"), encoding: .utf8))
        #expect(shared == root)
        let zipDigest = try String(contentsOf: NitroSamples.folder.appendingPathComponent("AWS_NitroEnclaves_Root-G1.sha256.hex"), encoding: .utf8)
        let zip = Array(try Data(contentsOf: NitroSamples.folder.appendingPathComponent("AWS_NitroEnclaves_Root-G1.zip")))
        #expect(Hex.encode(SHA2.sha256(zip)) == zipDigest.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
