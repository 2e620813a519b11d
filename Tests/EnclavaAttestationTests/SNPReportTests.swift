import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// A real report from `shared/testdata/attestation/sev-snp`, with the VCEK that signed it.
struct RealReport: CustomTestStringConvertible, Sendable {
    let file: String
    /// The VCEK (or VLEK) that signed it.
    let vcek: String
    /// The AMD KDS chain for it: ASK (or ASVK), then ARK.
    let chain: String
    var testDescription: String { file }

    static let all: [RealReport] = [
        RealReport(file: "go-sev-guest/attestation.bin", vcek: "go-sev-guest/vcek.testcer", chain: "go-sev-guest/ask_ark_milan.pem"),
        RealReport(file: "trustee/test-report.bin", vcek: "trustee/test-vcek.der", chain: "go-sev-guest/ask_ark_milan.pem"),
        RealReport(file: "trustee/test-vlek-report.bin", vcek: "trustee/test-vlek.der", chain: "go-sev-guest/ask_ark_milan_vlek.pem"),
        RealReport(file: "trustee/evidence.report.DERIVED.bin", vcek: "trustee/evidence.vcek.DERIVED.der", chain: "go-sev-guest/ask_ark_genoa.pem"),
        RealReport(file: "teekit-gcp/sev-gcp.bin", vcek: "teekit-gcp/sev-gcp-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem"),
        RealReport(file: "teekit-gcp/sev-gcp-reportdata.bin", vcek: "teekit-gcp/sev-gcp-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem"),
        RealReport(file: "teekit-gcp/sev-gcp-x25519-bound.bin", vcek: "teekit-gcp/sev-gcp-x25519-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem"),
        RealReport(file: "virtee-sev/report_milan.hex", vcek: "virtee-sev/vcek_milan.der", chain: "go-sev-guest/ask_ark_milan.pem"),
    ]
}

@Suite struct SNPReportLayoutTests {
    @Test func regionsAreContiguousAndCoverTheReport() {
        var next = 0
        for region in SNPReportLayout.regions {
            #expect(region.offset == next, "\(region.name) starts at 0x\(String(region.offset, radix: 16))")
            next = region.offset + region.size
        }
        #expect(next == SNPReport.byteCount)
        #expect(SNPReportLayout.signedRegions.last.map { $0.offset + $0.size } == SNPReport.signedByteCount)
    }

    /// The offsets of evidence-formats.md §1, restated here so that a change to the layout must be deliberate.
    @Test func offsetsMatchTheSpecification() {
        let spec: [String: Int] = [
            "VERSION": 0x000, "GUEST_SVN": 0x004, "POLICY": 0x008, "FAMILY_ID": 0x010, "IMAGE_ID": 0x020,
            "VMPL": 0x030, "SIGNATURE_ALGO": 0x034, "CURRENT_TCB": 0x038, "PLATFORM_INFO": 0x040,
            "SIGNER_INFO": 0x048, "REPORT_DATA": 0x050, "MEASUREMENT": 0x090, "HOST_DATA": 0x0C0,
            "ID_KEY_DIGEST": 0x0E0, "AUTHOR_KEY_DIGEST": 0x110, "REPORT_ID": 0x140, "REPORT_ID_MA": 0x160,
            "REPORTED_TCB": 0x180, "CPUID_FAM_ID": 0x188, "CHIP_ID": 0x1A0, "COMMITTED_TCB": 0x1E0,
            "CURRENT_BUILD": 0x1E8, "COMMITTED_BUILD": 0x1EC, "LAUNCH_TCB": 0x1F0, "LAUNCH_MIT_VECTOR": 0x1F8,
            "CURRENT_MIT_VECTOR": 0x200, "SIGNATURE_R": 0x2A0, "SIGNATURE_S": 0x2E8,
        ]
        let actual = Dictionary(uniqueKeysWithValues: SNPReportLayout.regions.map { ($0.name, $0.offset) })
        for (name, offset) in spec {
            #expect(actual[name] == offset, "\(name)")
        }
    }

    @Test func defaultReportSerializesToTheRightSize() throws {
        let bytes = SNPReport().serialized()
        #expect(bytes.count == 1184)
        #expect(try SNPReport(parsing: bytes) == SNPReport())
        #expect(bytes[0] == 3 && bytes[0x34] == 1)
        #expect(bytes[0x160..<0x180].allSatisfy { $0 == 0xFF })
    }

    @Test func everyFieldLandsAtItsOffset() throws {
        var report = SNPReport()
        report.guestSVN = 0x0403_0201
        report.policy = SNPGuestPolicy(rawValue: 0x0B_0000)
        report.vmpl = 2
        report.currentTCB = TCBVersion(bootLoader: 2, tee: 0, snp: 5, microcode: 0x44)
        report.measurement = (0..<48).map { UInt8($0) }
        report.chipID = (0..<64).map { UInt8(255 - $0) }
        report.currentMajor = 1
        report.currentMinor = 49
        let bytes = report.serialized()
        #expect(bytes[4..<8] == [1, 2, 3, 4])
        #expect(bytes[8..<16] == [0, 0, 0x0B, 0, 0, 0, 0, 0])
        #expect(bytes[0x30] == 2)
        #expect(Array(bytes[0x38..<0x40]) == hex("0200000000000544"))
        #expect(Array(bytes[0x90..<0xC0]) == report.measurement)
        #expect(Array(bytes[0x1A0..<0x1E0]) == report.chipID)
        #expect(bytes[0x1E9] == 49 && bytes[0x1EA] == 1)
        #expect(try SNPReport(parsing: bytes) == report)
    }
}

@Suite struct RealSNPReportTests {
    @Test(arguments: RealReport.all)
    func parsesAndRoundTripsExactly(sample: RealReport) throws {
        let bytes = try TestData.bytes(sample.file)
        let report = try SNPReport(parsing: bytes)
        #expect(report.serialized() == bytes)
        #expect(report.signedBytes == Array(bytes[0..<0x2A0]))
        #expect(report.signatureAlgorithm == 1)
        #expect(report.signatureReserved.allSatisfy { $0 == 0 })
    }

    @Test(arguments: RealReport.all)
    func signatureVerifiesWithTheShippedVCEK(sample: RealReport) throws {
        let bytes = try TestData.bytes(sample.file)
        let report = try SNPReport(parsing: bytes)
        let vcek = try TestData.certificate(sample.vcek)
        let key = try ECDSAPublicKey(spkiDER: vcek.subjectPublicKeyInfoDER)
        #expect(report.isSignatureValid(for: key))
        // virtee's negative case: byte 21 ^= 0x80 must break the signature.
        var altered = bytes
        altered[21] ^= 0x80
        #expect(try !SNPReport(parsing: altered).isSignatureValid(for: key))
    }

    /// A VCEK is issued for one chip and one TCB: its extensions must match CHIP_ID and REPORTED_TCB.
    @Test(arguments: RealReport.all)
    func vcekExtensionsMatchTheReport(sample: RealReport) throws {
        let report = try SNPReport(parsing: TestData.bytes(sample.file))
        let vcek = try TestData.certificate(sample.vcek)
        try VCEKExtensions(vcek).check(against: report, leafName: vcek.subject)
        #expect(VCEKExtensions(vcek).tcb == report.reportedTCB)
        var wrongTCB = report
        wrongTCB.reportedTCB = report.currentTCB == report.reportedTCB
            ? TCBVersion(rawValue: report.reportedTCB.rawValue ^ 1) : report.currentTCB
        #expect(throws: AttestationError.self) { try VCEKExtensions(vcek).check(against: wrongTCB, leafName: "") }
    }

    /// The verifier's signature, chain and VCEK checks pass on every real sample when its own AMD ARK is
    /// pinned as the vendor root, at a time inside the VCEK's validity (several have expired since).
    @Test(arguments: RealReport.all)
    func fullAMDChainVerifies(sample: RealReport) throws {
        let leaf = try TestData.certificate(sample.vcek)
        let chain = try TestData.chain(sample.chain)
        let evidence = Evidence(
            platform: .sevSNP, blob: try TestData.bytes(sample.file),
            certificates: [leaf.derRepresentation] + chain.map(\.derRepresentation))
        let verifier = EvidenceVerifier(simulatedRoots: [], vendorRoots: [chain[1]])
        let time = leaf.notBefore.addingTimeInterval(24 * 3600)
        let checked = try verifier.verifySNPSignatureAndChain(evidence, policy: AttestationPolicy(), at: time)
        #expect(!checked.isSimulated)
        #expect(checked.root == chain[1] && checked.root.subjectCommonName?.hasPrefix("ARK-") == true)
        // Not trusted once the VCEK has expired, nor by a verifier without that root.
        #expect(throws: AttestationError.self) {
            _ = try verifier.verifySNPSignatureAndChain(
                evidence, policy: AttestationPolicy(), at: leaf.notAfter.addingTimeInterval(24 * 3600))
        }
        #expect(throws: AttestationError.self) {
            _ = try EvidenceVerifier(simulatedRoots: [], vendorRoots: []).verifySNPSignatureAndChain(
                evidence, policy: AttestationPolicy(), at: time)
        }
    }

    @Test func goSEVGuestValues() throws {
        let r = try SNPReport(parsing: TestData.bytes("go-sev-guest/attestation.bin"))
        #expect(r.version == 2)
        #expect(r.reportData == hex("0102030405") + [UInt8](repeating: 0, count: 59))
        #expect(r.hostData.allSatisfy { $0 == 0 } && r.familyID.allSatisfy { $0 == 0 } && r.imageID.allSatisfy { $0 == 0 })
        #expect(r.measurement == hex("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"))
        #expect(r.reportID == hex("8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a"))
        #expect(r.reportIDMA == [UInt8](repeating: 0xFF, count: 32))
        #expect(r.chipID == hex("3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"))
        #expect(r.currentTCB.rawValue == 4_901_323_769_462_652_930)
        #expect(r.reportedTCB == TCBVersion(bootLoader: 2, tee: 0, snp: 5, microcode: 68))
        #expect(r.vmpl == 0 && r.platformInfo == 1)
        #expect(r.policy.rawValue == 0x000B_0000 && r.policy.isDebug && r.policy.contains(.smt))
        #expect((r.currentMajor, r.currentMinor) == (1, 49))
        #expect(r.signingKey == .vcek)
        let vcek = try TestData.certificate("go-sev-guest/vcek.testcer")
        #expect(VCEKExtensions(vcek).productName == "Milan-B0")
        #expect(vcek.serialNumber.allSatisfy { $0 == 0 })
    }

    @Test func trusteeValues() throws {
        let r = try SNPReport(parsing: TestData.bytes("trustee/test-report.bin"))
        #expect(r.version == 2 && r.vmpl == 0 && r.guestSVN == 4)
        #expect(r.policy.rawValue == 0x3001F && !r.policy.isDebug)
        #expect(r.currentTCB.bytes == hex("03000000000008ce"))
        #expect(r.reportedTCB.bytes == hex("0300000000000873"))
        #expect((r.reportedTCB.bootLoader, r.reportedTCB.tee, r.reportedTCB.snp, r.reportedTCB.microcode) == (3, 0, 8, 0x73))

        let vlek = try SNPReport(parsing: TestData.bytes("trustee/test-vlek-report.bin"))
        #expect(vlek.version == 3 && vlek.vmpl == 1 && vlek.signerInfo == 0x4 && vlek.signingKey == .vlek)
        #expect((vlek.cpuidFamily, vlek.cpuidModel, vlek.cpuidStepping) == (0x19, 0x01, 1))
        #expect(vlek.chipID.allSatisfy { $0 == 0 })
        #expect(vlek.reportedTCB.bytes == hex("04000000000018d9"))
        #expect(vlek.currentTCB.bytes == hex("04000000000018dc"))
        #expect(vlek.launchTCB.bytes == hex("04000000000018db") && vlek.committedTCB == vlek.launchTCB)
        #expect((vlek.currentMajor, vlek.currentMinor, vlek.currentBuild) == (1, 55, 29))

        let genoa = try SNPReport(parsing: TestData.bytes("trustee/evidence.report.DERIVED.bin"))
        #expect(genoa.version == 3)
        #expect((genoa.cpuidFamily, genoa.cpuidModel, genoa.cpuidStepping) == (0x19, 0xA0, 2))
        #expect((genoa.currentMajor, genoa.currentMinor, genoa.currentBuild) == (1, 55, 40))
        #expect((genoa.reportedTCB.bootLoader, genoa.reportedTCB.snp, genoa.reportedTCB.microcode) == (10, 23, 25))
        #expect(Hex.encode(genoa.measurement).hasPrefix("6a6519d7") && Hex.encode(genoa.measurement).hasSuffix("5506e73e"))
    }

    @Test func teekitGCPValues() throws {
        let measurement = hex("b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3")
        let plain = try SNPReport(parsing: TestData.bytes("teekit-gcp/sev-gcp.bin"))
        #expect(plain.version == 5 && plain.vmpl == 0 && plain.measurement == measurement)
        #expect(plain.reportData.allSatisfy { $0 == 0 })
        #expect(plain.launchMitigationVector == 0xB && plain.currentMitigationVector == 0xB)
        #expect((plain.cpuidFamily, plain.cpuidModel, plain.cpuidStepping) == (0x19, 0x01, 1))

        let withData = try SNPReport(parsing: TestData.bytes("teekit-gcp/sev-gcp-reportdata.bin"))
        #expect(withData.vmpl == 1 && !withData.policy.isDebug && withData.measurement == measurement)
        #expect(withData.reportData == hex("32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d395f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5"))
        #expect(withData.chipID == plain.chipID && Hex.encode(plain.chipID).hasPrefix("980cf7b6"))

        let bound = try SNPReport(parsing: TestData.bytes("teekit-gcp/sev-gcp-x25519-bound.bin"))
        let nonce = hex("df82306ff38a9da023854af947d02a878cfab1b40a793823ff41dc51213b96aa")
        let key = hex("03a8107030fabeac06b0df4ef865763918b5e2a9fa030e20025a4315dab4b2a6")
        #expect(bound.reportData == SHA2.sha512(nonce + key))
        #expect(bound.reportedTCB == TCBVersion(bootLoader: 4, tee: 0, snp: 27, microcode: 0xDE))
    }

    @Test func virteeValues() throws {
        let r = try SNPReport(parsing: TestData.bytes("virtee-sev/report_milan.hex"))
        #expect(r.version == 2 && r.vmpl == 0 && r.policy.rawValue == 0x30000)
        let turin = VCEKExtensions(try TestData.certificate("virtee-sev/vcek_turin.der"))
        #expect(turin.isTurin && turin.productName == "Turin")
        #expect(turin.hwID == hex("1e550a8ee5cf9f4d"))
    }
}

@Suite struct SNPReportRobustnessTests {
    @Test func everyWrongSizeIsRefusedWithoutACrash() throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 4, 0x2A0, 1183, 1185, 2048] + (0..<40).map({ _ in Int.random(in: 0..<1400, using: &generator) }) {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if size == SNPReport.byteCount {
                #expect(try SNPReport(parsing: bytes).serialized() == bytes)
            } else {
                #expect(throws: AttestationError.self) { try SNPReport(parsing: bytes) }
            }
        }
    }

    @Test func truncatedRealReportIsMalformed() throws {
        let bytes = try TestData.bytes("go-sev-guest/attestation.bin")
        for cut in stride(from: 0, to: bytes.count, by: 97) {
            let error = #expect(throws: AttestationError.self) { try SNPReport(parsing: Array(bytes[0..<cut])) }
            #expect(error?.code == .malformedEvidence)
        }
    }

    @Test func signatureSerializationIsLittleEndian() throws {
        let key = try ECDSAPrivateKey.generate(curve: .p384)
        var report = SNPReport()
        report.measurement = SHA2.sha384([1, 2, 3])
        try report.sign(with: key)
        let signature = try #require(report.signature)
        #expect(report.signatureR[0..<48].reversed() == signature.r)
        #expect(report.signatureR[48...].allSatisfy { $0 == 0 } && report.signatureS[48...].allSatisfy { $0 == 0 })
        #expect(report.isSignatureValid(for: key.publicKey))
        report.measurement[0] ^= 1
        #expect(!report.isSignatureValid(for: key.publicKey))
        var p256 = report
        let wrongCurve = #expect(throws: CryptoError.self) { try p256.sign(with: ECDSAPrivateKey.generate(curve: .p256)) }
        #expect(wrongCurve?.code == .invalidKey)
    }

    @Test func tcbVersionLayouts() {
        let tcb = TCBVersion(rawValue: 0x4405_0000_0000_0002)
        #expect((tcb.bootLoader, tcb.tee, tcb.snp, tcb.microcode) == (2, 0, 5, 0x44))
        #expect(TCBVersion(bootLoader: 2, tee: 0, snp: 5, microcode: 0x44) == tcb)
        let turin = TCBVersion(bytes: [1, 2, 3, 4, 0, 0, 0, 9])
        #expect((turin.turinFMC, turin.turinBootLoader, turin.turinTEE, turin.turinSNP, turin.microcode) == (1, 2, 3, 4, 9))
    }
}
