import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Real SEV-SNP evidence through the public entry points, with the embedded AMD roots.
@Suite struct SNPEvidenceTests {
    let verifier = EvidenceVerifier()

    /// Every sample verifies at its time through ``EvidenceVerifier/verifyEvidence(_:policy:at:)``, with its own
    /// product's ARK as the root, and never as simulated.
    @Test(arguments: SNPSample.all)
    func everySampleVerifies(_ sample: SNPSample) throws {
        let attested = try verifier.verifyEvidence(sample.evidence(), policy: sample.policy, at: sample.time)
        #expect(!attested.isSimulated)
        #expect(attested.platform == .sevSNP)
        #expect(attested.rootFingerprint == AMDRootCertificates.all.first { $0.subjectCommonName == "ARK-\(sample.product)" }?.sha256Fingerprint)
        let report = try #require(attested.snpReport)
        #expect(report.version == sample.version)
        #expect(report.signingKey == sample.signingKey)
        #expect(attested.isDebug == sample.isDebug)
        #expect(attested.measurement == report.measurement && attested.reportData == report.reportData)
        #expect(attested.evidenceDigest == SHA2.sha384(try sample.blob()))
        #expect(attested.claims.contains { $0.0 == "root" && $0.1.hasPrefix("ARK-\(sample.product)") })
    }

    /// Only the VCEK or VLEK is needed: the embedded ASKs and ASVKs complete the chain.
    @Test(arguments: SNPSample.all)
    func leafAloneIsEnough(_ sample: SNPSample) throws {
        var evidence = try sample.evidence()
        evidence.certificates = [evidence.certificates[0]]
        #expect(try verifier.verifyEvidence(evidence, policy: sample.policy, at: sample.time).snpReport != nil)
    }

    /// The chain from an SNP_GET_EXT_REPORT / auxblob certificate table, VCEK or VLEK by the report's SIGNING_KEY.
    @Test(arguments: SNPSample.all)
    func certificateTableIsUsed(_ sample: SNPSample) throws {
        let chain = try sample.chainCertificates()
        let leaf = try sample.leafCertificate().derRepresentation
        let table = SNPCertificates(
            vcek: sample.signingKey == .vcek ? leaf : nil, vlek: sample.signingKey == .vlek ? leaf : nil,
            ask: chain[0].derRepresentation, ark: chain[1].derRepresentation)
        let bytes = table.certificateTable()
        #expect(try SNPCertificates(certificateTable: bytes) == table)
        let evidence = Evidence(
            platform: .sevSNP, blob: try sample.blob(), certificates: [],
            collateral: EvidenceCollateral(snpCertificateTable: bytes))
        #expect(try verifier.verifyEvidence(evidence, policy: sample.policy, at: sample.time).snpReport != nil)
    }

    /// A cache folder holds every VCEK and VLEK we have: the verifier picks the one for this chip and TCB.
    @Test(arguments: SNPSample.all)
    func cachedCertificatesArePickedByChipAndTCB(_ sample: SNPSample) throws {
        let cache = try SNPSample.all.map { try $0.leafCertificate().derRepresentation }
            + [try TestData.certificate("virtee-sev/vcek_turin.der").derRepresentation]
            + SNPSample.all.flatMap { try $0.chainCertificates().map(\.derRepresentation) }
        let evidence = Evidence(
            platform: .sevSNP, blob: try sample.blob(), certificates: [],
            collateral: EvidenceCollateral(certificates: cache.shuffled()))
        #expect(try verifier.verifyEvidence(evidence, policy: sample.policy, at: sample.time).snpReport != nil)
        // Without the right leaf the refusal names the VCEK (with its KDS address) or the VLEK.
        let key = try sample.leafCertificate().subjectPublicKeyInfoDER
        let others = try SNPSample.all.map { try $0.leafCertificate() }.filter { $0.subjectPublicKeyInfoDER != key }
            .map(\.derRepresentation)
        let missing = Evidence(
            platform: .sevSNP, blob: try sample.blob(), certificates: [], collateral: EvidenceCollateral(certificates: others))
        let error = refusal { _ = try verifier.verifyEvidence(missing, policy: sample.policy, at: sample.time) }
        #expect(error?.code == .certificateChainInvalid)
        #expect(error?.field == (sample.signingKey == .vlek ? "VLEK" : "VCEK"))
    }

    /// The debug sample (go-sev-guest, POLICY 0xB0000) is refused by the default policy and accepted with allow_debug.
    @Test func debugSampleIsRefusedByDefault() throws {
        let sample = SNPSample.all[0]
        let error = refusal { _ = try verifier.verifyEvidence(sample.evidence(), policy: .hardware([.sevSNP]), at: sample.time) }
        #expect(error?.code == .debugNotAllowed)
        #expect(error?.field == "POLICY" && error?.actual?.hasPrefix("0xb0000") == true)
        var policy = AttestationPolicy.hardware([.sevSNP])
        policy.allowDebug = true
        #expect(try verifier.verifyEvidence(sample.evidence(), policy: policy, at: sample.time).isDebug)
        #expect(SNPSample.all.filter(\.isDebug).count == 1)
    }

    /// PROVENANCE.md's values, read from the attested evidence.
    @Test func provenanceValues() throws {
        func attested(_ index: Int) throws -> AttestedEvidence {
            try verifier.verifyEvidence(SNPSample.all[index].evidence(), policy: SNPSample.all[index].policy, at: SNPSample.all[index].time)
        }
        let go = try attested(0)
        #expect(go.measurementHex == "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")
        #expect(go.reportData == hex("0102030405") + [UInt8](repeating: 0, count: 59))
        #expect(go.snpTCB == SNPTCBLevels(TCBVersion(bootLoader: 2, tee: 0, snp: 5, microcode: 68), isTurin: false))
        #expect(go.snpReport?.chipID == hex("3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"))
        let trustee = try attested(1)
        #expect(trustee.snpTCB?.description == "bl=3 tee=0 snp=8 ucode=115")
        #expect(trustee.snpReport?.currentTCB.bytes == hex("03000000000008ce"))
        let vlek = try attested(2)
        #expect(vlek.snpReport?.signingKey == .vlek && vlek.snpReport?.vmpl == 1)
        #expect(vlek.snpTCB?.description == "bl=4 tee=0 snp=24 ucode=217")
        #expect(vlek.claims.contains { $0.0 == "signer" && $0.1.hasPrefix("VLEK") })
        let genoa = try attested(3)
        #expect(genoa.measurementHex.hasPrefix("6a6519d7") && genoa.measurementHex.hasSuffix("5506e73e"))
        #expect(genoa.snpTCB?.description == "bl=10 tee=0 snp=23 ucode=25")
        let gcp = try attested(5)
        #expect(gcp.measurementHex == "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3")
        #expect(Hex.encode(gcp.reportData) == "32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d395f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5")
        #expect(gcp.snpReport?.vmpl == 1 && !gcp.isDebug)
        let bound = try attested(6)
        let nonce = hex("df82306ff38a9da023854af947d02a878cfab1b40a793823ff41dc51213b96aa")
        let key = hex("03a8107030fabeac06b0df4ef865763918b5e2a9fa030e20025a4315dab4b2a6")
        #expect(bound.reportData == SHA2.sha512(nonce + key))
        #expect(bound.snpTCB?.description == "bl=4 tee=0 snp=27 ucode=222")
        let virtee = try attested(7)
        #expect(virtee.snpReport?.policy.rawValue == 0x30000 && virtee.snpReport?.vmpl == 0)
    }

    /// Real reports carry no Enclava binding: the session entry point refuses them at the binding step, after
    /// the hardware checks passed.
    @Test(arguments: SNPSample.all)
    func realReportsFailTheEnclavaBinding(_ sample: SNPSample) throws {
        var policy = sample.policy
        policy.expectedMeasurements = [Hex.encode(try SNPReport(parsing: sample.blob()).measurement)]
        policy.expectedManifestDigests = [Hex.encode([UInt8](repeating: 2, count: 48))]
        let error = refusal {
            _ = try verifier.verify(
                sample.evidence(), nonce: [UInt8](repeating: 1, count: 32), manifestDigest: [UInt8](repeating: 2, count: 48),
                hpkePublicKey: [UInt8](repeating: 3, count: 32), policy: policy, at: sample.time)
        }
        #expect(error?.code == .reportDataMismatch)
        #expect(error?.field == "REPORT_DATA[0..<32]")
    }
}

@Suite struct SNPCertificateTableTests {
    /// GUIDs in mixed-endian (Windows GUID) byte order are read as well; unknown GUIDs are skipped.
    @Test func mixedEndianAndUnknownGUIDs() throws {
        let vcek = try TestData.certificate("trustee/test-vcek.der").derRepresentation
        var table = SNPCertificates(vcek: vcek).certificateTable()
        let guid = Array(table[0..<16])
        let swapped = Array(guid[0..<4].reversed()) + Array(guid[4..<6].reversed()) + Array(guid[6..<8].reversed()) + Array(guid[8..<16])
        table.replaceSubrange(0..<16, with: swapped)
        #expect(try SNPCertificates(certificateTable: table).vcek == vcek)
        table.replaceSubrange(0..<16, with: [UInt8](repeating: 0x11, count: 16))
        #expect(try SNPCertificates(certificateTable: table) == SNPCertificates())
        // The same GUID twice is refused.
        var twice = SNPCertificates(vcek: vcek).certificateTable()
        twice = Array(twice[0..<24]) + Array(twice[0..<24]) + [UInt8](repeating: 0, count: 24) + Array(twice[48...])
        #expect(throws: AttestationError.self) { try SNPCertificates(certificateTable: twice) }
    }
}
