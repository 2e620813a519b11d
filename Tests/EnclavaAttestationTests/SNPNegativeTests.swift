import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated negative cases on every real SNP sample, through ``EvidenceVerifier/verifyEvidence(_:policy:at:)``
/// with the embedded AMD roots: each must be refused with its specific error.
@Suite struct SNPNegativeTests {
    let verifier = EvidenceVerifier()

    func refused(_ sample: SNPSample, _ evidence: Evidence, at time: Date? = nil) -> AttestationError? {
        refusal { _ = try verifier.verifyEvidence(evidence, policy: sample.policy, at: time ?? sample.time) }
    }

    /// One random bit flipped inside every field of the signed bytes: SIGNATURE_INVALID.
    @Test(arguments: SNPSample.all)
    func bitFlipInEverySignedFieldIsSignatureInvalid(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        for region in SNPReportLayout.signedRegions {
            var evidence = good
            let offset = Int.random(in: region.range)
            evidence.blob[offset] ^= UInt8(1) << UInt8.random(in: 0..<8)
            let error = refused(sample, evidence)
            #expect(error?.code == .signatureInvalid, "\(region.name) @0x\(String(offset, radix: 16)): \(String(describing: error))")
        }
    }

    /// A flipped bit in R or S: SIGNATURE_INVALID; in the zero padding after them: refused as well.
    @Test(arguments: SNPSample.all)
    func bitFlipInTheSignatureIsRefused(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        for base in [0x2A0, 0x2E8] {
            var evidence = good
            evidence.blob[base + Int.random(in: 0..<48)] ^= UInt8(1) << UInt8.random(in: 0..<8)
            #expect(refused(sample, evidence)?.code == .signatureInvalid)
            var padded = good
            padded.blob[base + Int.random(in: 48..<72)] ^= 0x01
            #expect(refused(sample, padded)?.code == .signatureInvalid)
        }
        var tail = good
        tail.blob[Int.random(in: 0x330..<0x4A0)] ^= 0x80
        #expect(refused(sample, tail)?.code == .malformedEvidence)
    }

    /// Every truncation and extension of the report: MALFORMED_EVIDENCE.
    @Test(arguments: SNPSample.all)
    func truncatedOrExtendedReportIsMalformed(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        for cut in Array(stride(from: 0, to: good.blob.count, by: 61)) + [good.blob.count - 1] {
            var evidence = good
            evidence.blob = Array(good.blob.prefix(cut))
            #expect(refused(sample, evidence)?.code == .malformedEvidence, "cut at \(cut)")
        }
        var longer = good
        longer.blob.append(0)
        #expect(refused(sample, longer)?.code == .malformedEvidence)
    }

    /// A random byte changed in each certificate of the chain is refused; a changed signature byte of the
    /// VCEK or ASK is CERTIFICATE_CHAIN_INVALID, and a changed ARK is no longer a pinned root.
    @Test(arguments: SNPSample.all)
    func damagedCertificatesAreRefused(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        let anyRefusal: Set<AttestationError.Code> = [
            .malformedEvidence, .certificateChainInvalid, .signatureInvalid, .untrustedRoot, .tcbMismatch,
        ]
        for index in good.certificates.indices {
            for _ in 0..<4 {
                var evidence = good
                let offset = Int.random(in: 4..<evidence.certificates[index].count)
                evidence.certificates[index][offset] ^= UInt8(1) << UInt8.random(in: 0..<8)
                let error = refused(sample, evidence)
                #expect(error.map { anyRefusal.contains($0.code) } == true, "certificate \(index) byte \(offset): \(String(describing: error))")
            }
            var signature = good
            signature.certificates[index][signature.certificates[index].count - 3] ^= 0x01
            let expected: AttestationError.Code = index == 2 ? .untrustedRoot : .certificateChainInvalid
            #expect(refused(sample, signature)?.code == expected, "signature of certificate \(index)")
            var truncated = good
            truncated.certificates[index] = Array(truncated.certificates[index].prefix(Int.random(in: 0..<truncated.certificates[index].count)))
            #expect(refused(sample, truncated)?.code == .malformedEvidence, "certificate \(index) truncated")
        }
    }

    /// Swapped order, another sample's VCEK, another product's ASK: refused with the specific error.
    @Test(arguments: SNPSample.all)
    func swappedAndForeignCertificatesAreRefused(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        var swapped = good
        swapped.certificates.swapAt(0, 1)
        #expect(refused(sample, swapped)?.code == .certificateChainInvalid)
        let key = try sample.leafCertificate().subjectPublicKeyInfoDER
        for other in SNPSample.all where try other.leafCertificate().subjectPublicKeyInfoDER != key {
            var foreign = good
            foreign.certificates = [try other.leafCertificate().derRepresentation]
            let error = refused(sample, foreign)
            #expect(error?.code == .signatureInvalid, "\(other.leaf): \(String(describing: error))")
        }
        let ownASK = try sample.chainCertificates()[0]
        for file in ["go-sev-guest/ask_ark_genoa.pem", "go-sev-guest/ask_ark_turin_vcek.pem", "go-sev-guest/ask_ark_milan.pem",
                     "go-sev-guest/ask_ark_genoa_vlek.pem", "go-sev-guest/ask_ark_milan_vlek.pem"]
        where try TestData.chain(file)[0] != ownASK {
            var foreign = good
            foreign.certificates = [good.certificates[0]] + (try TestData.chain(file).map(\.derRepresentation))
            #expect(refused(sample, foreign)?.code == .certificateChainInvalid, "\(file)")
        }
    }

    /// Before the VCEK's notBefore, or after its notAfter: CERTIFICATE_CHAIN_INVALID.
    @Test(arguments: SNPSample.all)
    func timeOutsideValidityIsRefused(_ sample: SNPSample) throws {
        let leaf = try sample.leafCertificate()
        for time in [leaf.notBefore.addingTimeInterval(-60), leaf.notAfter.addingTimeInterval(60)] {
            let error = refused(sample, try sample.evidence(), at: time)
            #expect(error?.code == .certificateChainInvalid, "\(time)")
        }
    }

    /// A wrong root: a verifier that does not pin this ARK, or a self-made "ARK" presented in its place.
    @Test(arguments: SNPSample.all)
    func wrongRootIsUntrusted(_ sample: SNPSample) throws {
        let good = try sample.evidence()
        let ark = try sample.chainCertificates()[1]
        let others = AMDRootCertificates.all.filter { $0 != ark }
        let otherRoots = EvidenceVerifier(simulatedRoots: [], vendorRoots: others)
        let error = refusal { _ = try otherRoots.verifyEvidence(good, policy: sample.policy, at: sample.time) }
        #expect(error?.code == .untrustedRoot)
        var forged = good
        forged.certificates[2] = try ForgedAMD.selfSigned(likeARK: ark).derRepresentation
        #expect(refused(sample, forged)?.code == .untrustedRoot)
    }

    /// A whole forged chain with AMD's names (VCEK ← ASK ← ARK made here) signing an altered report: refused as
    /// UNTRUSTED_ROOT with the forged ARK, CERTIFICATE_CHAIN_INVALID without it.
    @Test func forgedChainWithAMDNamesIsRefused() throws {
        let sample = SNPSample.all[1]
        let forged = try ForgedAMD.make(for: sample)
        var report = try SNPReport(parsing: sample.blob())
        report.measurement = [UInt8](repeating: 0xAB, count: 48)
        try report.sign(with: forged.vcekKey)
        let withRoot = Evidence(platform: .sevSNP, blob: report.serialized(), certificates: forged.chain.map(\.derRepresentation))
        #expect(refused(sample, withRoot)?.code == .untrustedRoot)
        var withoutRoot = withRoot
        withoutRoot.certificates.removeLast()
        #expect(refused(sample, withoutRoot)?.code == .certificateChainInvalid)
        var simulation = sample.policy
        simulation.allowSimulation = true
        #expect(refusal { _ = try verifier.verifyEvidence(withRoot, policy: simulation, at: sample.time) }?.code == .untrustedRoot)
    }

    /// Damaged certificate tables: every truncation and a random offset beyond the buffer are MALFORMED_EVIDENCE.
    @Test func damagedCertificateTablesAreMalformed() throws {
        let sample = SNPSample.all[4]
        let chain = try sample.chainCertificates()
        let table = SNPCertificates(
            vcek: try sample.leafCertificate().derRepresentation, ask: chain[0].derRepresentation, ark: chain[1].derRepresentation
        ).certificateTable()
        for cut in stride(from: 1, to: table.count, by: 97) {
            let evidence = Evidence(platform: .sevSNP, blob: try sample.blob(), certificates: [],
                                    collateral: EvidenceCollateral(snpCertificateTable: Array(table.prefix(cut))))
            let error = refused(sample, evidence)
            #expect(error?.code == .malformedEvidence || error?.code == .certificateChainInvalid, "cut \(cut): \(String(describing: error))")
        }
        for entry in 0..<3 {
            var bad = table
            let value = UInt32.random(in: UInt32(table.count)...UInt32.max)
            for i in 0..<4 { bad[entry * 24 + 16 + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
            let evidence = Evidence(platform: .sevSNP, blob: try sample.blob(), certificates: [],
                                    collateral: EvidenceCollateral(snpCertificateTable: bad))
            #expect(refused(sample, evidence)?.code == .malformedEvidence, "entry \(entry) offset \(value)")
        }
        for size in [0, 1, 23, 24, 100, 5000] {
            let random = SecureRandom.bytes(count: size)
            let evidence = Evidence(platform: .sevSNP, blob: try sample.blob(), certificates: [],
                                    collateral: EvidenceCollateral(snpCertificateTable: random))
            #expect(refused(sample, evidence) != nil)
        }
    }
}

/// Certificates made here with AMD's names and new keys: what a forger without AMD's keys can produce.
enum ForgedAMD {
    static let year: TimeInterval = 365 * 24 * 3600

    static func subject(_ cn: String) -> [(String, String)] {
        [("OU", "Engineering"), ("C", "US"), ("L", "Santa Clara"), ("ST", "CA"), ("O", "Advanced Micro Devices"), ("CN", cn)]
    }

    /// A self-signed certificate with the ARK's subject and validity, under a new EC key.
    static func selfSigned(likeARK ark: Certificate) throws -> Certificate {
        let key = try ECDSAPrivateKey.generate(curve: .p384)
        return try CertificateBuilder(
            subject: subject(ark.subjectCommonName ?? "ARK-Milan"), notBefore: ark.notBefore, notAfter: ark.notAfter, isCA: true
        ).build(subjectPublicKeySPKI: key.publicKey.spkiDER, issuer: nil, signer: .ecdsa(key, .sha384))
    }

    /// VCEK ← ASK ← ARK with the sample's names and the sample VCEK's extensions.
    static func make(for sample: SNPSample) throws -> (chain: [Certificate], vcekKey: ECDSAPrivateKey) {
        let realLeaf = try sample.leafCertificate()
        let (arkKey, askKey, vcekKey) = try (
            ECDSAPrivateKey.generate(curve: .p384), ECDSAPrivateKey.generate(curve: .p384), ECDSAPrivateKey.generate(curve: .p384))
        let from = sample.time.addingTimeInterval(-year)
        let until = sample.time.addingTimeInterval(year)
        let ark = try CertificateBuilder(subject: subject("ARK-\(sample.product)"), notBefore: from, notAfter: until, isCA: true)
            .build(subjectPublicKeySPKI: arkKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(arkKey, .sha384))
        let ask = try CertificateBuilder(subject: subject("SEV-\(sample.product)"), notBefore: from, notAfter: until, isCA: true)
            .build(subjectPublicKeySPKI: askKey.publicKey.spkiDER, issuer: ark, signer: .ecdsa(arkKey, .sha384))
        let extensions = realLeaf.extensionOIDs.filter { $0.hasPrefix(VCEKExtensions.prefix) }.compactMap { oid in
            realLeaf.extensionValue(oid: oid).map { (oid: oid, critical: false, derValue: $0) }
        }
        let vcek = try CertificateBuilder(
            subject: subject("SEV-VCEK"), serialNumber: [0], notBefore: from, notAfter: until, extensions: extensions
        ).build(subjectPublicKeySPKI: vcekKey.publicKey.spkiDER, issuer: ask, signer: .ecdsa(askKey, .sha384))
        return ([vcek, ask, ark], vcekKey)
    }
}
