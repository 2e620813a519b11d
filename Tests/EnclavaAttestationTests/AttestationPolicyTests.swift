import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct AttestationPolicyTests {
    @Test func roundTripsThroughAFileWithSnakeCaseKeys() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/P.json"
        var policy = AttestationPolicy(
            allowedPlatforms: [.sevSNP, .tdx], allowSimulation: true, allowDebug: false,
            expectedMeasurements: [Hex.encode(SHA2.sha384([1]))], expectedManifestDigests: [Hex.encode(SHA2.sha384([2]))],
            simulatedRootFingerprints: [Hex.encode(SHA2.sha256([3]))])
        policy.expectedRTMRs = ["0": [Hex.encode(SHA2.sha384([4]))], "1": [Hex.encode(SHA2.sha384([5]))], "2": [Hex.encode(SHA2.sha384([6]))]]
        try policy.write(to: path)
        #expect(try AttestationPolicy.load(path: path) == policy)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ["allowed_platforms", "allow_simulation", "allow_debug", "expected_measurements",
                    "expected_manifest_digests", "simulated_root_fingerprints", "\"sev-snp\""] {
            #expect(text.contains(key), "\(key)")
        }
        // Written atomically: no temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["P.json"])
    }

    @Test func hexIsNormalisedAndMissingKeysAreSafe() throws {
        let json = #"{"expected_measurements": ["0xABCDEF"], "allow_simulation": true}"#
        let policy = try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
        #expect(policy.expectedMeasurements == ["abcdef"])
        #expect(policy.allowedPlatforms == [.sevSNP])
        #expect(!policy.allowDebug && policy.expectedManifestDigests.isEmpty)
    }

    @Test(arguments: [
        #"{"allow_simulaton": true}"#,
        #"{"expected_measurements": ["zz"]}"#,
        #"{"simulated_root_fingerprints": ["abcd"]}"#,
        #"{"allowed_platforms": ["sev"]}"#,
        #"{"allow_debug": "yes"}"#,
        #"[]"#,
        "not json",
    ])
    func invalidPoliciesAreRefusedWithTheirReason(json: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: AttestationError.self) { try AttestationPolicy.load(path: path) }
        #expect(error?.code == .invalidPolicy)
        #expect(error?.message.contains(path) == true)
    }

    /// A misspelt key, at the top or inside `minimum_tcb`, is named with the keys that exist.
    @Test(arguments: [
        (#"{"allow_simulaton": true}"#, "allow_simulaton", "unknown policy key `allow_simulaton`"),
        (#"{"minimum_tcb": {"snpp": 1}}"#, "minimum_tcb.snpp", "unknown `minimum_tcb` key `snpp`"),
    ])
    func unknownKeysAreNamed(json: String, field: String, message: String) throws {
        let error = #expect(throws: AttestationError.self) {
            try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
        }
        #expect(error?.code == .invalidPolicy)
        #expect(error?.field == field)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("allow_simulation") == true || error?.message.contains("snp,") == true)
    }

    @Test func missingFileSaysHowToCreateOne() {
        let error = #expect(throws: AttestationError.self) { try AttestationPolicy.load(path: "/nonexistent/P.json") }
        #expect(error?.message.contains("enclava policy create") == true)
    }

    @Test func reportDataLayout() {
        let nonce = [UInt8](repeating: 7, count: 32)
        let digest = [UInt8](repeating: 9, count: 48)
        let key = [UInt8](repeating: 1, count: 32)
        let data = ReportData.make(nonce: nonce, manifestDigest: digest, hpkePublicKey: key)
        #expect(data.count == 64)
        #expect(Array(data[0..<32]) == SHA2.sha256(Array("enclava-evidence-v1".utf8) + nonce + digest))
        #expect(Array(data[32...]) == key)
    }
}
