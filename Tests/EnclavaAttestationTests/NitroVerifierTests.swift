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

    func nitro(_ blob: [UInt8]) -> Evidence { Evidence(platform: .nitro, blob: blob, certificates: []) }

    @Test func normalSampleVerifiesAtItsTime() throws {
        let checked = try verifier.verifyNitro(document: NitroSamples.normal, at: NitroSamples.normalTime)
        #expect(checked.root == NitroRootCertificates.rootG1)
        #expect(checked.leaf.derRepresentation == checked.document.certificate)
        #expect(!checked.isDebug)
        #expect(Hex.encode(checked.measurement) == NitroDocumentTests.pcr0)
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

    /// The raw verifier entry (no Enclava binding) with the hardware policy, then with pinned PCRs.
    @Test func normalSampleAttestsThroughVerifyEvidence() throws {
        let attested = try verifier.verifyEvidence(nitro(NitroSamples.normal), policy: .hardware([.nitro]), at: NitroSamples.normalTime)
        #expect(attested.platform == .nitro)
        #expect(!attested.isSimulated && !attested.isDebug)
        #expect(attested.measurementHex == NitroDocumentTests.pcr0)
        #expect(attested.pcrs[1].map(Hex.encode) == NitroDocumentTests.pcr1)
        #expect(attested.reportData == [UInt8](repeating: 1, count: 1024))
        #expect(attested.rootFingerprint == NitroRootCertificates.rootG1.sha256Fingerprint)
        #expect(attested.evidenceDigest == SHA2.sha384(NitroSamples.normal))
        #expect(attested.claims.first { $0.0 == "module id" }?.1 == "i-0a22e5c5f24d22174-enc0191cceb4289903f")

        var pinned = policy(pcr0: hex(NitroDocumentTests.pcr0))
        pinned.expectedPCRs = ["1": [NitroDocumentTests.pcr1], "2": [NitroDocumentTests.pcr2]]
        _ = try verifier.verifyEvidence(nitro(NitroSamples.normal), policy: pinned, at: NitroSamples.normalTime)
        pinned.expectedPCRs["8"] = [String(repeating: "ab", count: 48)]
        let unsigned = nitroError { _ = try verifier.verifyEvidence(nitro(NitroSamples.normal), policy: pinned, at: NitroSamples.normalTime) }
        #expect(unsigned?.code == .measurementMismatch)
        #expect(unsigned?.field == "PCR8")
        let other = nitroError {
            _ = try verifier.verifyEvidence(nitro(NitroSamples.normal), policy: policy(pcr0: [UInt8](repeating: 7, count: 48)),
                                            at: NitroSamples.normalTime)
        }
        #expect(other?.code == .measurementMismatch)
        #expect(other?.field == "PCR0")
        #expect(other?.actual == NitroDocumentTests.pcr0)
        let snpOnly = nitroError { _ = try verifier.verifyEvidence(nitro(NitroSamples.normal), policy: .hardware([.sevSNP]), at: NitroSamples.normalTime) }
        #expect(snpOnly?.code == .platformNotAllowed)
    }

    @Test func debugSampleIsRefusedUnlessDebugIsAllowed() throws {
        let evidence = nitro(NitroSamples.debug)
        let refused = nitroError { _ = try verifier.verifyEvidence(evidence, policy: .hardware([.nitro]), at: NitroSamples.debugTime) }
        #expect(refused?.code == .debugNotAllowed)
        #expect(refused?.field == "PCR0")
        #expect(refused?.actual == Hex.encode(NitroDocumentTests.zeroPCR))
        var allowed = AttestationPolicy.hardware([.nitro])
        allowed.allowDebug = true
        let attested = try verifier.verifyEvidence(evidence, policy: allowed, at: NitroSamples.debugTime)
        #expect(attested.isDebug)
        #expect(attested.measurement == NitroDocumentTests.zeroPCR)
        #expect(attested.claims.first { $0.0 == "debug" }?.1.hasPrefix("YES") == true)
        // The Enclava path refuses it for the same reason once the binding would pass (see the generated test).
        #expect(try verifier.verifyNitro(document: NitroSamples.debug, at: NitroSamples.debugTime).isDebug)
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
        let error = nitroError {
            _ = try verifier.verify(
                nitro(NitroSamples.normal), nonce: [UInt8](repeating: 1, count: 32), manifestDigest: [UInt8](repeating: 2, count: 48),
                hpkePublicKey: [UInt8](repeating: 3, count: 32),
                policy: policy(pcr0: hex(NitroDocumentTests.pcr0)), at: NitroSamples.normalTime)
        }
        #expect(error?.code == .reportDataMismatch)
        #expect(error?.field == "user_data")
        #expect(error?.actual == "1024 bytes")
    }

    /// ``AttestedEvidence`` for a document checked under test roots, as `attestNitro` makes it for the AWS root.
    static func attested(_ checked: CheckedNitroDocument, blob: [UInt8]) -> AttestedEvidence {
        AttestedEvidence(
            platform: .nitro, isSimulated: false, measurement: checked.measurement, reportData: checked.document.userData ?? [],
            isDebug: checked.isDebug, debugField: "PCR0", debugValue: Hex.encode(checked.measurement),
            evidenceDigest: SHA2.sha384(blob), rootFingerprint: checked.root.sha256Fingerprint, claims: checked.claims,
            pcrs: checked.document.pcrs)
    }

    /// A generated chain: under the AWS root it is refused as untrusted; under its own root (tests only) it
    /// verifies, and the Enclava binding in `user_data` is checked.
    @Test func generatedDocumentBindsThroughUserData() throws {
        let chain = try GeneratedNitroChain()
        let nonce = SecureRandom.bytes(count: 32)
        let digest = SHA2.sha384(Array("manifest".utf8))
        let hpke = X25519PrivateKey().publicKey
        let pcr0 = [UInt8](repeating: 0xA5, count: 48)
        let userData = ReportData.make(nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke)
        let document = try chain.document(pcr0: pcr0, userData: userData)
        let untrusted = nitroError {
            _ = try verifier.verify(nitro(document), nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke,
                                    policy: policy(pcr0: pcr0, manifestDigest: digest), at: GeneratedNitroChain.time)
        }
        #expect(untrusted?.code == .untrustedRoot)
        #expect(untrusted?.field == "payload.cabundle[0]")

        func bind(_ document: [UInt8], nonce: [UInt8] = nonce, hpke: [UInt8] = hpke, pin: [UInt8] = pcr0,
                  allowDebug: Bool = false) throws -> VerifiedEvidence {
            let checked = try EvidenceVerifier.verifyNitro(document: document, roots: [chain.root], at: GeneratedNitroChain.time)
            return try EvidenceVerifier.bind(
                Self.attested(checked, blob: document), nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke,
                policy: policy(pcr0: pin, allowDebug: allowDebug, manifestDigest: digest))
        }
        let verified = try bind(document)
        #expect(verified.platform == .nitro)
        #expect(!verified.isSimulated)
        #expect(verified.measurement == pcr0)
        #expect(verified.reportData == userData)
        #expect(verified.hpkePublicKey == hpke)
        #expect(verified.rootFingerprint == chain.root.sha256Fingerprint)
        #expect(verified.evidenceDigest == SHA2.sha384(document))
        #expect(nitroError { _ = try bind(document, nonce: SecureRandom.bytes(count: 32)) }?.field == "user_data[0..<32]")
        #expect(nitroError { _ = try bind(document, hpke: X25519PrivateKey().publicKey) }?.code == .hpkeKeyMismatch)
        #expect(nitroError { _ = try bind(document, pin: SHA2.sha384([1])) }?.code == .measurementMismatch)
        // A debug-mode enclave with a correct binding: refused unless the policy allows debug.
        let zero = [UInt8](repeating: 0, count: 48)
        let debug = try chain.document(pcr0: zero, userData: userData)
        #expect(nitroError { _ = try bind(debug, pin: zero) }?.code == .debugNotAllowed)
        #expect(try bind(debug, pin: zero, allowDebug: true).measurement == zero)
        // The binding in `public_key` instead of `user_data` is not accepted.
        let inPublicKey = try chain.document(pcr0: pcr0) { NitroSamples.set(&$0, "public_key", .bytes(userData)) }
        #expect(nitroError { _ = try bind(inPublicKey) }?.field == "user_data")
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
