import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// The TF-RMM CCA token and the TF-M PSA tokens verify under their published test keys, with the values
/// PROVENANCE.md lists; the CCA token also verifies re-wrapped in the tag 907 CMW collection.
@Suite struct CCASampleTests {
    let verifier = EvidenceVerifier()

    @Test func ccaSampleVerifiesWithProvenanceValues() throws {
        let attested = try verifier.verifyEvidence(
            Evidence(platform: .cca, blob: try ArmSamples.cca, certificates: []), policy: try ArmSamples.policy([.cca]))
        let arm = try #require(attested.armToken)
        let realm = try #require(arm.realm)
        #expect(attested.platform == .cca && !attested.isSimulated && !attested.isDebug)
        #expect(arm.token.layout == .legacy)
        #expect(arm.platform.profileName == "http://arm.com/CCA-SSD/1.0.0")
        #expect(Hex.encode(arm.platform.instanceID) == ArmSamples.ccaInstanceID)
        #expect(Hex.encode(arm.platform.challenge) == ArmSamples.ccaChallenge)
        #expect(arm.platform.challenge == SHA2.sha256(realm.rakClaim))
        #expect(Hex.encode(realm.rakClaim).hasPrefix(ArmSamples.ccaRAKPrefix) && realm.rakClaim.count == 97)
        #expect(arm.platform.softwareComponents.map(\.type) == ["BL", "M1", "M2", "M3"])
        #expect(arm.platform.softwareComponents.allSatisfy { Hex.encode($0.measurement) == ArmSamples.componentMeasurement })
        #expect(arm.platform.lifecycle.value == 12291 && arm.platform.lifecycle.state == "secured")
        #expect(arm.platform.verificationService == "whatever.com")
        #expect(arm.platform.hashAlgorithm == "sha-256")
        #expect(realm.challenge == Array(repeating: 0xAB, count: 64))
        #expect(attested.reportData == realm.challenge)
        #expect(realm.personalizationValue == ArmSamples.ccaRPV)
        #expect(realm.rim == Array(repeating: 0, count: 32) && attested.measurement == realm.rim)
        #expect(realm.rems == Array(repeating: Array(repeating: 0, count: 32), count: 4))
        #expect(realm.hashAlgorithm == "sha-256" && realm.rakHashAlgorithm == "sha-256")
        #expect(arm.platformKey == (try ECDSAPublicKey(pem: try ArmSamples.cpakPEM)))
        #expect(attested.rootFingerprint == SHA2.sha256(arm.platformKey.spkiDER))
        let claims = Dictionary(attested.claims, uniquingKeysWith: { a, _ in a })
        #expect(claims["platform"] == "cca" && claims["lifecycle"] == "secured (0x3003)" && claims["debug"] == "no")
    }

    @Test func ccaSampleVerifiesInTheCMWCollection() throws {
        let token = try ArmSamples.asCMW(try ArmSamples.cca)
        #expect(token.prefix(3) == [0xD9, 0x03, 0x8B])
        let checked = try verifier.verifyArm(token: token, platform: .cca, cpaks: try ArmSamples.policy().armCPAKKeys())
        #expect(checked.token.layout == .cmwCollection)
        #expect(Hex.encode(checked.platform.challenge) == ArmSamples.ccaChallenge)
    }

    @Test(arguments: ["psa-2_0_0_sign1.bin", "psa-iot-1_sign1.bin"])
    func psaSamplesVerifyWithProvenanceValues(file: String) throws {
        let blob = try ArmSamples.bytes("veraison-psatoken/\(file)")
        let attested = try verifier.verifyEvidence(Evidence(platform: .psa, blob: blob, certificates: []), policy: try ArmSamples.policy([.psa]))
        let arm = try #require(attested.armToken)
        #expect(arm.realm == nil && arm.token.layout == nil)
        #expect(arm.token.platformCOSE.algorithm == COSESign1.es256)
        #expect(arm.platform.profile == (file.hasPrefix("psa-2") ? .psa2 : .psaIoT1))
        #expect(arm.platform.challenge == Array(repeating: 0, count: 64) && attested.reportData == arm.platform.challenge)
        #expect(Hex.encode(arm.platform.instanceID) == ArmSamples.psaInstanceID)
        #expect(Hex.encode(arm.platform.implementationID) == ArmSamples.psaImplementationID)
        #expect(arm.platform.clientID == 3002)
        #expect(arm.platform.lifecycle.value == 12288 && !attested.isDebug)
        #expect(arm.platform.softwareComponents.map(\.type) == ["SPE", "NSPE"])
        #expect(arm.platform.softwareComponents.map(\.version) == ["1.6.0", "0.0.0"])
        #expect(arm.platform.softwareComponents.map { Hex.encode($0.signerID) } == [
            "bfe6d86f8826f4ff97fb96c4e6fbc4993e4619fc565da26adf34c329489adc38",
            "b360caf5c98c6b942a4882fa9d4823efb166a9ef6a6e4aa37c1919ed1fccc049",
        ])
        #expect(arm.platform.verificationService == "www.trustedfirmware.org")
        #expect(arm.platform.certificationReference == "0604565272829-10010")
        #expect(attested.measurement.isEmpty)
    }

    /// The policy pins: each matching pin passes, each wrong one is refused naming its claim.
    @Test func ccaPinsMatchAndRefuse() throws {
        let evidence = Evidence(platform: .cca, blob: try ArmSamples.cca, certificates: [])
        let zero32 = Hex.encode(Array(repeating: 0, count: 32))
        let other32 = Hex.encode(Array(repeating: 1, count: 32))
        var policy = try ArmSamples.policy([.cca])
        policy.expectedMeasurements = [zero32]
        policy.expectedCCARIM = [zero32]
        policy.expectedCCAREMs = ["0": [zero32], "3": [zero32]]
        policy.expectedCCARPV = [Hex.encode(ArmSamples.ccaRPV)]
        policy.expectedArmSoftwareComponents = ["BL": [ArmSamples.componentMeasurement], "M3": [ArmSamples.componentMeasurement]]
        _ = try verifier.verifyEvidence(evidence, policy: policy)

        func refusal(_ change: (inout AttestationPolicy) -> Void) -> AttestationError? {
            var changed = policy
            change(&changed)
            return armError { _ = try verifier.verifyEvidence(evidence, policy: changed) }
        }
        let rim = refusal { $0.expectedCCARIM = [other32] }
        #expect(rim?.code == .measurementMismatch && rim?.field == "realm.rim" && rim?.actual == zero32)
        #expect(refusal { $0.expectedMeasurements = [other32] }?.field == "realm.rim")
        #expect(refusal { $0.expectedCCAREMs["2"] = [other32] }?.field == "realm.rem[2]")
        #expect(refusal { $0.expectedCCARPV = [Hex.encode(Array(repeating: 0, count: 64))] }?.field == "realm.personalization_value")
        let bl = refusal { $0.expectedArmSoftwareComponents["BL"] = [other32] }
        #expect(bl?.code == .measurementMismatch && bl?.field == "platform.sw_components[BL]")
        let absent = refusal { $0.expectedArmSoftwareComponents["SPE"] = [other32] }
        #expect(absent?.field == "platform.sw_components[SPE]" && absent?.actual == "(absent)")
    }

    @Test func psaPinsSoftwareComponentsAndRefusesRealmPins() throws {
        let evidence = Evidence(platform: .psa, blob: try ArmSamples.psa2, certificates: [])
        var policy = try ArmSamples.policy([.psa])
        policy.expectedArmSoftwareComponents = ["SPE": ["96a2ec56c65120a60ce3a53ef8d2082233772aacd5b17935a92be12ac577f685"]]
        _ = try verifier.verifyEvidence(evidence, policy: policy)
        policy.expectedArmSoftwareComponents = ["NSPE": ["96a2ec56c65120a60ce3a53ef8d2082233772aacd5b17935a92be12ac577f685"]]
        #expect(armError { _ = try verifier.verifyEvidence(evidence, policy: policy) }?.field == "psa.sw_components[NSPE]")
        policy.expectedArmSoftwareComponents = [:]
        policy.expectedCCARIM = [Hex.encode(Array(repeating: 0, count: 32))]
        let realm = armError { _ = try verifier.verifyEvidence(evidence, policy: policy) }
        #expect(realm?.code == .measurementMismatch && realm?.field == "realm")
    }

    /// A CCA realm carries Enclava's report data in its challenge and opens a session; PSA never does.
    @Test func ccaBindsEnclavaReportDataAndPSAHasNoSessions() throws {
        let nonce = SecureRandom.bytes(count: 32)
        let manifest = SHA2.sha384(Array("a manifest".utf8))
        let hpke = X25519PrivateKey().publicKey
        var builder = try CCATokenBuilder()
        builder.realmChallenge = ReportData.make(nonce: nonce, manifestDigest: manifest, hpkePublicKey: hpke)
        var policy = builder.policy()
        policy.expectedMeasurements = [Hex.encode(builder.rim)]
        policy.expectedManifestDigests = [Hex.encode(manifest)]
        let verified = try verifier.verify(try builder.evidence(), nonce: nonce, manifestDigest: manifest, hpkePublicKey: hpke, policy: policy)
        #expect(verified.platform == .cca && !verified.isSimulated)
        let replayed = armError {
            _ = try verifier.verify(try builder.evidence(), nonce: SecureRandom.bytes(count: 32), manifestDigest: manifest,
                                    hpkePublicKey: hpke, policy: policy)
        }
        #expect(replayed?.code == .reportDataMismatch && replayed?.field == "realm.challenge[0..<32]")
        var psaPolicy = try ArmSamples.policy([.psa])
        psaPolicy.expectedManifestDigests = [Hex.encode(manifest)]
        let psa = armError {
            _ = try verifier.verify(Evidence(platform: .psa, blob: try ArmSamples.psa2, certificates: []), nonce: nonce,
                                    manifestDigest: manifest, hpkePublicKey: hpke, policy: psaPolicy)
        }
        #expect(psa?.code == .unsupportedPlatform && psa?.actual == "psa")
    }

    @Test func policyFileCarriesArmKeysAndRefusesBadOnes() throws {
        let pem = try ArmSamples.cpakPEM
        let json: [String: Any] = [
            "allowed_platforms": ["cca"], "arm_cpaks": [ArmSamples.ccaInstanceID.uppercased(): pem],
            "expected_cca_rim": [String(repeating: "00", count: 32)], "expected_cca_rems": ["1": [String(repeating: "00", count: 32)]],
            "expected_arm_sw_components": ["BL": [ArmSamples.componentMeasurement]],
        ]
        let policy = try JSONDecoder().decode(AttestationPolicy.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(policy.armCPAKs.keys.sorted() == [ArmSamples.ccaInstanceID])
        _ = try verifier.verifyEvidence(Evidence(platform: .cca, blob: try ArmSamples.cca, certificates: []), policy: policy)

        func decodeError(_ object: [String: Any]) -> AttestationError? {
            armError { _ = try JSONDecoder().decode(AttestationPolicy.self, from: JSONSerialization.data(withJSONObject: object)) }
        }
        #expect(decodeError(["arm_cpaks": ["01ab": pem]])?.field == "arm_cpaks")
        #expect(decodeError(["arm_cpaks": [ArmSamples.ccaInstanceID: "not a key"]])?.field == "arm_cpaks.\(ArmSamples.ccaInstanceID)")
        #expect(decodeError(["expected_cca_rpv": ["00"]])?.code == .invalidPolicy)
        #expect(decodeError(["expected_arm_sw_components": ["BL": ["0011"]]])?.field == "expected_arm_sw_components.BL")
        #expect(decodeError(["expected_cca_rems": ["4": [String(repeating: "00", count: 32)]]])?.field == "expected_cca_rems")
    }
}
