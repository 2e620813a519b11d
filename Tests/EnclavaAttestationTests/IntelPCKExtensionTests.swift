import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// The SGX extension of PCK certificates (1.2.840.113741.1.13.1) and the DER reader under it.
@Suite struct IntelPCKExtensionTests {
    static let fmspcs: [String: String] = [
        "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat": "50806f000000",
        "tdx/go-tdx-guest/quote_v5_sample.dat": "90c06f000000",
        "tdx/dcap-qvl/tdx_quote": "b0c06f000000",
        "tdx/dcap-qvl/tdx_quote_outdated": "90c06f000000",
        "tdx/trustee/tdx_quote_4.dat": "50806f000000",
        "sgx/dcap-qvl/sgx_quote": "00a067110000",
        "sgx/trustee/occlum_quote.dat": "00606a000000",
    ]

    @Test(arguments: IntelTestData.samples)
    func everySamplePCKExtension(_ sample: IntelTestData.Sample) throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
        let chain = try layout.signatureData.parsePCKChain()
        let pck = try PCKCertificate(chain[0])
        #expect(Hex.encode(pck.fmspc) == Self.fmspcs[sample.file])
        #expect(pck.pceID == [0, 0])
        #expect(pck.ppid.count == 16)
        #expect(pck.cpuSVN.count == 16)
        #expect(pck.sgxType <= 2)
        // Platform-CA certificates carry a platform instance id; Processor-CA ones do not.
        #expect((pck.platformInstanceID != nil) == chain[0].issuer.contains("Platform CA"))
        // The CA and root certificates have no SGX extension.
        #expect(IntelTestData.attestationError { _ = try PCKCertificate(chain[1]) }?.code == .certificateChainInvalid)
    }

    @Test func objectIdentifiers() {
        #expect(DERReader.objectIdentifier([0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01]) == "1.2.840.113741.1.13.1")
        #expect(DERReader.objectIdentifier([0x55, 0x1D, 0x13]) == "2.5.29.19")
        #expect(DERReader.objectIdentifier([0x88, 0x37]) == "2.999")
        #expect(DERReader.objectIdentifier([]) == nil)
        #expect(DERReader.objectIdentifier([0x2A, 0x86]) == nil)   // ends inside an arc
        #expect(DERReader.objectIdentifier([0x2A] + [UInt8](repeating: 0xFF, count: 12) + [0x01]) == nil)   // arc overflows
        #expect(DERReader.unsigned([0x00, 0xFF]) == 255)
        #expect(DERReader.unsigned([0x80]) == nil)
        #expect(DERReader.unsigned([]) == nil)
    }

    /// Generated hostile DER: every prefix and every single-byte change of a real extension value either
    /// parses or is refused as malformed — never a crash.
    @Test func hostileExtensionValues() throws {
        let layout = try IntelQuoteLayout(IntelTestData.bytes("tdx/dcap-qvl/tdx_quote"), platform: .tdx)
        let value = try #require(try layout.signatureData.parsePCKChain()[0].extensionValue(oid: PCKCertificate.sgxExtensionOID))
        func parse(_ bytes: [UInt8]) -> Bool {
            var reader = DERReader(bytes, structure: "test")
            do {
                var items = DERReader(try reader.next(tag: DERReader.sequenceTag), structure: "test")
                while !items.isAtEnd {
                    var item = DERReader(try items.next(tag: DERReader.sequenceTag), structure: "test")
                    _ = try item.next(tag: DERReader.oidTag)
                    _ = try item.next()
                }
                return true
            } catch {
                return error.code == .malformedEvidence
            }
        }
        #expect(parse(value))
        for length in 0..<value.count { #expect(parse(Array(value[0..<length]))) }
        var random = SplitMix64(state: 7)
        for _ in 0..<2000 {
            var mutated = value
            mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            #expect(parse(mutated))
        }
    }

    /// A certificate whose SGX extension lacks the FMSPC or has a malformed TCB is refused.
    @Test func incompleteExtensionsAreRefused() throws {
        let key = try ECDSAPrivateKey.generate(curve: .p256)
        let oid = PCKCertificate.sgxExtensionOID
        func item(_ arc: [UInt8], _ tlv: [UInt8]) -> [UInt8] {
            let oidBytes: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01] + arc
            return DER.encode(tag: 0x30, [0x06, UInt8(oidBytes.count)] + oidBytes + tlv)
        }
        let ppid = item([0x01], [0x04, 0x10] + [UInt8](repeating: 1, count: 16))
        var tcbItems: [UInt8] = []
        for arc in 1...16 { tcbItems += item([0x02, UInt8(arc)], [0x02, 0x01, 0x03]) }
        tcbItems += item([0x02, 17], [0x02, 0x01, 0x0D]) + item([0x02, 18], [0x04, 0x10] + [UInt8](repeating: 3, count: 16))
        let tcb = item([0x02], DER.encode(tag: 0x30, tcbItems))
        let pceID = item([0x03], [0x04, 0x02, 0x00, 0x00])
        let fmspc = item([0x04], [0x04, 0x06, 0x00, 0x60, 0x6A, 0x00, 0x00, 0x00])
        let type = item([0x05], [0x0A, 0x01, 0x00])
        func certificate(_ items: [UInt8]) throws -> Certificate {
            try CertificateBuilder(
                subject: [("CN", "Test PCK")], notBefore: TestData.date("2024-01-01T00:00:00Z"),
                notAfter: TestData.date("2025-01-01T00:00:00Z"), isCA: false,
                extensions: [(oid: oid, critical: false, derValue: DER.encode(tag: 0x30, items))]
            ).build(subjectPublicKeySPKI: key.publicKey.spkiDER, issuer: nil, signer: .ecdsa(key, .sha256))
        }
        let complete = try PCKCertificate(certificate(ppid + tcb + pceID + fmspc + type))
        #expect(complete.fmspc == [0x00, 0x60, 0x6A, 0x00, 0x00, 0x00] && complete.pceSVN == 13)
        #expect(complete.sgxTCBComponents == [UInt8](repeating: 3, count: 16))
        for broken in [ppid + tcb + pceID + type, ppid + pceID + fmspc + type,
                       ppid + item([0x02], DER.encode(tag: 0x30, Array(tcbItems.dropFirst(17)))) + pceID + fmspc + type] {
            let error = IntelTestData.attestationError { _ = try PCKCertificate(certificate(broken)) }
            #expect(error?.code == .malformedEvidence)
        }
    }
}
