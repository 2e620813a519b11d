import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct EvidenceVerifierTests {
    let nonce = SecureRandom.bytes(count: 32)

    func verify(
        _ evidence: Evidence, nonce: [UInt8]? = nil, manifestDigest: [UInt8] = SimFixture.manifestDigest,
        hpkeKey: [UInt8] = SimFixture.hpkeKey, policy: AttestationPolicy = SimFixture.policy(),
        verifier: EvidenceVerifier? = nil
    ) throws -> VerifiedEvidence {
        try (verifier ?? SimFixture.verifier()).verify(
            evidence, nonce: nonce ?? self.nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkeKey,
            policy: policy)
    }

    /// Runs `body` and returns the AttestationError it throws (failing the test if it throws none).
    func attestationError(_ body: () throws -> Void) -> AttestationError? {
        do {
            try body()
            Issue.record("expected an AttestationError")
            return nil
        } catch let error as AttestationError {
            return error
        } catch {
            Issue.record("expected an AttestationError, got \(error)")
            return nil
        }
    }

    @Test func simulatedEvidenceVerifies() throws {
        let evidence = try SimFixture.evidence(nonce: nonce)
        let verified = try verify(evidence)
        #expect(verified.isSimulated)
        #expect(verified.platform == .sevSNP)
        #expect(verified.measurement == SimFixture.measurement)
        #expect(verified.manifestDigest == SimFixture.manifestDigest)
        #expect(verified.hpkePublicKey == SimFixture.hpkeKey)
        #expect(verified.evidenceDigest == SHA2.sha384(evidence.blob))
        #expect(verified.rootFingerprint == (try SimFixture.platform().ark.sha256Fingerprint))
        #expect(verified.claims.contains { $0.0 == "platform" && $0.1.contains("SIMULATED") })
        #expect(verified.claims.contains { $0.0 == "chip id" && $0.1 == Hex.encode((try? SimFixture.platform().chipID) ?? []) })
    }

    @Test func pinnedFingerprintIsEnoughWithoutLocalRoots() throws {
        var policy = SimFixture.policy()
        policy.simulatedRootFingerprints = [Hex.encode(try SimFixture.platform().ark.sha256Fingerprint)]
        let verified = try verify(try SimFixture.evidence(nonce: nonce), policy: policy, verifier: EvidenceVerifier())
        #expect(verified.isSimulated)
    }

    /// Flipping one random bit inside every field of the signed bytes must break the signature.
    @Test(arguments: SNPReportLayout.signedRegions)
    func bitFlipInSignedRegionIsSignatureInvalid(region: SNPReportLayout.Region) throws {
        var evidence = try SimFixture.evidence(nonce: nonce)
        let offset = Int.random(in: region.range)
        evidence.blob[offset] ^= UInt8(1) << UInt8.random(in: 0..<8)
        let error = attestationError { _ = try verify(evidence) }
        #expect(error?.code == .signatureInvalid, "flip at 0x\(String(offset, radix: 16)) in \(region.name)")
    }

    @Test func bitFlipInTheSignatureOrItsPaddingIsRefused() throws {
        for region in SNPReportLayout.regions where region.offset >= SNPReport.signedByteCount {
            var evidence = try SimFixture.evidence(nonce: nonce)
            evidence.blob[Int.random(in: region.range)] ^= 0x10
            let error = attestationError { _ = try verify(evidence) }
            #expect(error?.code == .signatureInvalid || error?.code == .malformedEvidence, "\(region.name)")
        }
    }

    @Test func simulationNotAllowed() throws {
        var policy = SimFixture.policy()
        policy.allowSimulation = false
        let error = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(error?.code == .simulationNotAllowed)
    }

    @Test func unpinnedSimulatedRootIsUntrusted() throws {
        var policy = SimFixture.policy()
        policy.simulatedRootFingerprints = [Hex.encode(SecureRandom.bytes(count: 32))]
        let error = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(error?.code == .untrustedRoot)
        #expect(error?.actual == Hex.encode(try SimFixture.platform().ark.sha256Fingerprint))
        // No local root and no pinned fingerprint: nothing simulated is trusted.
        let none = attestationError {
            _ = try verify(try SimFixture.evidence(nonce: nonce), verifier: EvidenceVerifier())
        }
        #expect(none?.code == .untrustedRoot)
    }

    @Test func certificatesOutOfOrderOrDamagedAreRefused() throws {
        let good = try SimFixture.evidence(nonce: nonce)
        let amdASK = try TestData.chain("go-sev-guest/ask_ark_milan.pem")[0].derRepresentation
        var variants: [(String, [[UInt8]])] = [
            ("no certificates", []),
            ("ASK first", [good.certificates[1], good.certificates[0], good.certificates[2]]),
            ("ARK before ASK", [good.certificates[0], good.certificates[2], good.certificates[1]]),
            ("AMD ASK instead of ours", [good.certificates[0], amdASK, good.certificates[2]]),
            ("leaf only", [good.certificates[0]]),
            ("random bytes", [SecureRandom.bytes(count: 600)] + good.certificates.dropFirst()),
        ]
        for index in good.certificates.indices {
            var truncated = good.certificates
            truncated[index] = Array(truncated[index].prefix(truncated[index].count / 2))
            variants.append(("certificate \(index) truncated", truncated))
        }
        for (name, certificates) in variants {
            var evidence = good
            evidence.certificates = certificates
            let error = attestationError { _ = try verify(evidence) }
            #expect(
                error?.code == .certificateChainInvalid || error?.code == .malformedEvidence,
                "\(name): \(String(describing: error))")
        }
    }

    @Test func chainWithoutItsRootUsesTheLocalRoot() throws {
        var evidence = try SimFixture.evidence(nonce: nonce)
        evidence.certificates = [evidence.certificates[0], evidence.certificates[1]]
        #expect(try verify(evidence).isSimulated)
        // Without the ASK the chain cannot be built even though the root is known.
        evidence.certificates = [evidence.certificates[0]]
        let error = attestationError { _ = try verify(evidence) }
        #expect(error?.code == .certificateChainInvalid)
    }

    @Test func wrongNonceIsReportDataMismatch() throws {
        let evidence = try SimFixture.evidence(nonce: nonce)
        let error = attestationError { _ = try verify(evidence, nonce: SecureRandom.bytes(count: 32)) }
        #expect(error?.code == .reportDataMismatch)
        // A host that swaps the manifest digest in the answer breaks the binding too.
        let swapped = attestationError { _ = try verify(evidence, manifestDigest: SHA2.sha384([9])) }
        #expect(swapped?.code == .reportDataMismatch)
        let short = attestationError { _ = try verify(evidence, nonce: []) }
        #expect(short?.code == .reportDataMismatch && short?.field == "nonce")
    }

    @Test func substitutedHPKEKeyIsHPKEKeyMismatch() throws {
        let evidence = try SimFixture.evidence(nonce: nonce)
        let attacker = X25519PrivateKey().publicKey
        let error = attestationError { _ = try verify(evidence, hpkeKey: attacker) }
        #expect(error?.code == .hpkeKeyMismatch)
        #expect(error?.actual == Hex.encode(attacker))
        let short = attestationError { _ = try verify(evidence, hpkeKey: Array(SimFixture.hpkeKey.prefix(31))) }
        #expect(short?.code == .hpkeKeyMismatch)
    }

    @Test func wrongMeasurementIsMeasurementMismatch() throws {
        var policy = SimFixture.policy()
        let other = SHA2.sha384(Array("another runtime".utf8))
        policy.expectedMeasurements = [Hex.encode(other)]
        let error = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(error?.code == .measurementMismatch)
        #expect(error?.expected == Hex.encode(other))
        #expect(error?.actual == Hex.encode(SimFixture.measurement))
        #expect(error?.description.contains(Hex.encode(other)) == true)
        #expect(error?.description.contains(Hex.encode(SimFixture.measurement)) == true)
        policy.expectedMeasurements = []
        let unpinned = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(unpinned?.code == .measurementMismatch)
    }

    @Test func wrongManifestDigestIsManifestDigestMismatch() throws {
        var policy = SimFixture.policy()
        policy.expectedManifestDigests = [Hex.encode(SHA2.sha384(Array("another manifest".utf8)))]
        let error = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(error?.code == .manifestDigestMismatch)
        #expect(error?.actual == Hex.encode(SimFixture.manifestDigest))
    }

    @Test func debugGuestIsRefusedUnlessAllowed() throws {
        let evidence = try SimFixture.evidence(nonce: nonce) { $0.policy.insert(.debug) }
        let error = attestationError { _ = try verify(evidence) }
        #expect(error?.code == .debugNotAllowed)
        var policy = SimFixture.policy()
        policy.allowDebug = true
        #expect(try verify(evidence, policy: policy).isSimulated)
    }

    @Test func platformNotAllowedAndUnsupported() throws {
        var policy = SimFixture.policy()
        policy.allowedPlatforms = [.tdx]
        let error = attestationError { _ = try verify(try SimFixture.evidence(nonce: nonce), policy: policy) }
        #expect(error?.code == .platformNotAllowed)
        policy.allowedPlatforms = [.tdx, .nitro, .sevSNP]
        var tdx = try SimFixture.evidence(nonce: nonce)
        tdx.platform = .tdx
        // TDX is verified now: an SNP report is not a TDX quote.
        #expect(attestationError { _ = try verify(tdx, policy: policy) }?.code == .malformedEvidence)
        var nitro = tdx
        nitro.platform = .nitro
        #expect(attestationError { _ = try verify(nitro, policy: policy) }?.code == .malformedEvidence)
    }

    @Test func reportedTCBOrChipIDThatDoesNotMatchTheVCEKIsRefused() throws {
        let wrongTCB = try SimFixture.evidence(nonce: nonce) { $0.reportedTCB = TCBVersion(bootLoader: 1, tee: 0, snp: 1, microcode: 1) }
        #expect(attestationError { _ = try verify(wrongTCB) }?.code == .tcbMismatch)
        let wrongChip = try SimFixture.evidence(nonce: nonce) { $0.chipID = SecureRandom.bytes(count: 64) }
        #expect(attestationError { _ = try verify(wrongChip) }?.code == .tcbMismatch)
    }

    @Test func randomBlobsAndTruncationsNeverCrash() throws {
        let good = try SimFixture.evidence(nonce: nonce)
        for size in [0, 1, 100, 0x2A0, 1183, 1184, 1185, 4096] {
            var evidence = good
            evidence.blob = SecureRandom.bytes(count: size)
            let error = attestationError { _ = try verify(evidence) }
            #expect(error?.code == .malformedEvidence || error?.code == .signatureInvalid)
        }
        for cut in stride(from: 0, to: good.blob.count, by: 113) {
            var evidence = good
            evidence.blob = Array(good.blob.prefix(cut))
            #expect(attestationError { _ = try verify(evidence) }?.code == .malformedEvidence)
        }
        var tooMany = good
        tooMany.certificates = Array(repeating: good.certificates[0], count: 50)
        #expect(attestationError { _ = try verify(tooMany) }?.code == .malformedEvidence)
    }

    /// Real AMD evidence chains to the embedded ARK: never called simulated, whatever the policy says
    /// about simulation (it then fails only at the Enclava binding, which a real sample cannot carry).
    @Test func realAMDEvidenceIsHardwareAndNeverSimulated() throws {
        let blob = try TestData.bytes("go-sev-guest/attestation.bin")
        let chain = try TestData.chain("go-sev-guest/ask_ark_milan.pem")
        let evidence = Evidence(
            platform: .sevSNP, blob: blob,
            certificates: [try TestData.bytes("go-sev-guest/vcek.testcer")] + chain.map(\.derRepresentation))
        let time = TestData.date("2022-09-24T01:00:00Z")
        for allowSimulation in [false, true] {
            var policy = SimFixture.policy()
            policy.allowSimulation = allowSimulation
            policy.allowDebug = true
            let checked = try EvidenceVerifier().verifySNPSignatureAndChain(evidence, policy: policy, at: time)
            #expect(!checked.isSimulated)
            let error = attestationError {
                _ = try EvidenceVerifier().verify(
                    evidence, nonce: nonce, manifestDigest: SimFixture.manifestDigest, hpkePublicKey: SimFixture.hpkeKey,
                    policy: policy, at: time)
            }
            #expect(error?.code == .reportDataMismatch)
        }
    }

    /// With the sample ARK as a vendor root, the full signature and chain check passes on real evidence at
    /// the time the sample was made (the VCEK is a 2022 certificate).
    @Test func realAMDChainVerifiesWithThePinnedARK() throws {
        let blob = try TestData.bytes("go-sev-guest/attestation.bin")
        let chain = try TestData.chain("go-sev-guest/ask_ark_milan.pem")
        let evidence = Evidence(
            platform: .sevSNP, blob: blob,
            certificates: [try TestData.bytes("go-sev-guest/vcek.testcer")] + chain.map(\.derRepresentation))
        let verifier = EvidenceVerifier(simulatedRoots: [], vendorRoots: [chain[1]])
        let time = TestData.date("2022-09-24T01:00:00Z")
        let checked = try verifier.verifySNPSignatureAndChain(evidence, policy: AttestationPolicy(), at: time)
        #expect(!checked.isSimulated)
        #expect(checked.root.subjectCommonName == "ARK-Milan")
        var altered = evidence
        altered.blob[0x90] ^= 1
        #expect(throws: AttestationError.self) {
            _ = try verifier.verifySNPSignatureAndChain(altered, policy: AttestationPolicy(), at: time)
        }
    }
}
