import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Verification of the real documents, debug handling, the Enclava binding through `user_data`, time and root.
@Suite struct NitroVerifierTests {
    let verifier = EvidenceVerifier()

    func policy(pcr0: [UInt8], allowDebug: Bool = false, manifestDigest: [UInt8]? = nil) -> AttestationPolicy {
        AttestationPolicy(
            allowedPlatforms: [.nitro], allowDebug: allowDebug, expectedMeasurements: [Hex.encode(pcr0)],
            expectedManifestDigests: manifestDigest.map { [Hex.encode($0)] } ?? [])
    }

    @Test func normalSampleVerifiesAtItsTime() throws {
        let checked = try verifier.verifyNitro(document: NitroSamples.normal, at: NitroSamples.normalTime)
        #expect(checked.root == NitroRootCertificates.rootG1)
        #expect(checked.leaf.derRepresentation == checked.document.certificate)
        #expect(!checked.isDebug)
        #expect(Hex.encode(checked.measurement) == NitroDocumentTests.pcr0)
        try EvidenceVerifier.checkNitroPolicy(checked, policy: policy(pcr0: checked.measurement))
        let claims = Dictionary(checked.claims, uniquingKeysWith: { a, _ in a })
        #expect(claims["module id"] == "i-0a22e5c5f24d22174-enc0191cceb4289903f")
        #expect(claims["timestamp"] == "2024-09-07T14:37:39.545Z (1725719859545 ms)")
        #expect(claims["digest"] == "SHA384")
        #expect(claims["pcr0"] == NitroDocumentTests.pcr0)
        #expect(claims["pcr8"] == Hex.encode(NitroDocumentTests.zeroPCR))
        #expect(claims["root"]?.hasSuffix(NitroRootCertificates.rootG1Fingerprint) == true)
        #expect(checked.claims.map(\.0) == ["platform", "module id", "timestamp", "digest", "pcr0", "pcr1", "pcr2", "pcr8",
                                            "debug", "signer", "root"])
    }

    @Test func debugSampleIsRefusedUnlessDebugIsAllowed() throws {
        let checked = try verifier.verifyNitro(document: NitroSamples.debug, at: NitroSamples.debugTime)
        #expect(checked.isDebug)
        let refused = nitroError { try EvidenceVerifier.checkNitroPolicy(checked, policy: policy(pcr0: checked.measurement)) }
        #expect(refused?.code == .debugNotAllowed)
        #expect(refused?.field == "PCR0")
        try EvidenceVerifier.checkNitroPolicy(checked, policy: policy(pcr0: checked.measurement, allowDebug: true))
        // The normal sample is not debug, whatever the policy says about debug.
        let normal = try verifier.verifyNitro(document: NitroSamples.normal, at: NitroSamples.normalTime)
        try EvidenceVerifier.checkNitroPolicy(normal, policy: policy(pcr0: normal.measurement, allowDebug: true))
    }

    @Test func policyRefusesAnotherPCR0AndAPolicyWithoutNitro() throws {
        let checked = try verifier.verifyNitro(document: NitroSamples.normal, at: NitroSamples.normalTime)
        let other = nitroError { try EvidenceVerifier.checkNitroPolicy(checked, policy: policy(pcr0: [UInt8](repeating: 7, count: 48))) }
        #expect(other?.code == .measurementMismatch)
        #expect(other?.actual == NitroDocumentTests.pcr0)
        var snpOnly = policy(pcr0: checked.measurement)
        snpOnly.allowedPlatforms = [.sevSNP]
        #expect(nitroError { try EvidenceVerifier.checkNitroPolicy(checked, policy: snpOnly) }?.code == .platformNotAllowed)
    }

    @Test func timeOutsideTheLeafsThreeHoursIsRefused() throws {
        let leaf = try verifier.verifyNitro(document: NitroSamples.normal, at: NitroSamples.normalTime).leaf
        for time in [leaf.notBefore.addingTimeInterval(-1), leaf.notAfter.addingTimeInterval(1),
                     Date(timeIntervalSince1970: 0), Date()] {
            let error = nitroError { _ = try verifier.verifyNitro(document: NitroSamples.normal, at: time) }
            #expect(error?.code == .certificateChainInvalid, "\(time)")
            #expect(error?.field == "payload.cabundle")
        }
        _ = try verifier.verifyNitro(document: NitroSamples.normal, at: leaf.notBefore)
        _ = try verifier.verifyNitro(document: NitroSamples.normal, at: leaf.notAfter.addingTimeInterval(-1))
    }

    /// The real samples carry 1024 bytes of 0x01 as user data, so the Enclava protocol refuses them.
    @Test func realSamplesDoNotCarryAnEnclavaBinding() throws {
        let evidence = Evidence(platform: .nitro, blob: NitroSamples.normal, certificates: [])
        let error = nitroError {
            _ = try verifier.verifyNitroEvidence(
                evidence, nonce: [UInt8](repeating: 1, count: 32), manifestDigest: [UInt8](repeating: 2, count: 48),
                hpkePublicKey: [UInt8](repeating: 3, count: 32),
                policy: policy(pcr0: hex(NitroDocumentTests.pcr0)), at: NitroSamples.normalTime)
        }
        #expect(error?.code == .reportDataMismatch)
        #expect(error?.field == "user_data")
        #expect(error?.actual == "1024 bytes")
    }

    /// A generated chain: under the AWS root it is refused as untrusted; under its own root (tests only) it
    /// verifies, and the Enclava binding in `user_data` is checked.
    @Test func generatedDocumentBindsThroughUserData() throws {
        let chain = try GeneratedNitroChain()
        let nonce = SecureRandom.bytes(count: 32)
        let digest = SHA2.sha384(Array("manifest".utf8))
        let hpke = X25519PrivateKey().publicKey
        let document = try chain.document(userData: ReportData.make(nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke))
        let evidence = Evidence(platform: .nitro, blob: document, certificates: [])
        let pcr0 = [UInt8](repeating: 0xA5, count: 48)
        let untrusted = nitroError {
            _ = try verifier.verifyNitroEvidence(evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke,
                                                 policy: policy(pcr0: pcr0, manifestDigest: digest), at: GeneratedNitroChain.time)
        }
        #expect(untrusted?.code == .untrustedRoot)
        #expect(untrusted?.field == "payload.cabundle[0]")

        let checked = try EvidenceVerifier.verifyNitro(document: document, roots: [chain.root], at: GeneratedNitroChain.time)
        func finish(nonce: [UInt8] = nonce, digest: [UInt8] = digest, hpke: [UInt8] = hpke, pin: [UInt8] = digest) throws -> VerifiedEvidence {
            try EvidenceVerifier.finishNitro(checked, evidence: evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke,
                                             policy: policy(pcr0: pcr0, manifestDigest: pin))
        }
        let verified = try finish()
        #expect(verified.platform == .nitro)
        #expect(!verified.isSimulated)
        #expect(verified.measurement == pcr0)
        #expect(verified.hpkePublicKey == hpke)
        #expect(verified.rootFingerprint == chain.root.sha256Fingerprint)
        #expect(verified.evidenceDigest == SHA2.sha384(document))
        #expect(nitroError { _ = try finish(nonce: SecureRandom.bytes(count: 32)) }?.field == "user_data[0..<32]")
        #expect(nitroError { _ = try finish(hpke: X25519PrivateKey().publicKey) }?.code == .hpkeKeyMismatch)
        #expect(nitroError { _ = try finish(pin: SHA2.sha384([1])) }?.code == .manifestDigestMismatch)
    }

    @Test func wrongRootIsRefused() throws {
        // A generated chain whose root copies AWS's subject name: the fingerprint pin refuses it.
        let impostor = try GeneratedNitroChain(rootSubject: [("C", "US"), ("O", "Amazon"), ("OU", "AWS"), ("CN", "aws.nitro-enclaves")])
        let document = try impostor.document()
        let error = nitroError { _ = try verifier.verifyNitro(document: document, at: GeneratedNitroChain.time) }
        #expect(error?.code == .untrustedRoot)
        #expect(error?.actual == Hex.encode(impostor.root.sha256Fingerprint))
        // The real bundle with its root replaced by the impostor root.
        let swapped = try NitroSamples.rewritten(NitroSamples.normal) { entries in
            var bundle = NitroSamples.cabundle(entries)
            bundle[0] = .bytes(impostor.root.derRepresentation)
            NitroSamples.set(&entries, "cabundle", .array(bundle))
        }
        #expect(nitroError { _ = try verifier.verifyNitro(document: swapped, at: NitroSamples.normalTime) }?.code == .untrustedRoot)
        // The real document checked against another root only.
        let other = nitroError { _ = try EvidenceVerifier.verifyNitro(document: NitroSamples.normal, roots: [impostor.root], at: NitroSamples.normalTime) }
        #expect(other?.code == .untrustedRoot)
        // An impostor chain that starts at the real root but whose intermediate was not issued by it.
        let forged = try impostor.document { entries in
            NitroSamples.set(&entries, "cabundle", .array([.bytes(NitroRootCertificates.rootG1.derRepresentation),
                                                           .bytes(impostor.intermediate.derRepresentation)]))
        }
        let forgedError = nitroError { _ = try verifier.verifyNitro(document: forged, at: GeneratedNitroChain.time) }
        #expect(forgedError?.code == .certificateChainInvalid)
        #expect(forgedError?.field == "payload.cabundle")  // names match, the signature does not
    }
}
