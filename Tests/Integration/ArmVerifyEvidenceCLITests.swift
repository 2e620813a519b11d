import EnclavaAttestation
import EnclavaCrypto
import EnclavaTesting
import Foundation
import Testing

/// `enclava verify-evidence --platform cca|psa`, run as a process on the TF-RMM and TF-M test tokens in
/// ../shared/testdata/attestation/arm-cca-psa, with the platform key given by --cpak, --endorsements or the policy.
@Suite struct ArmVerifyEvidenceCLITests {
    static let data = TestPaths.shared().appendingPathComponent("testdata/attestation/arm-cca-psa")
    static let enclava = TestPaths.binDirectory.appendingPathComponent("enclava")
    static let cca = data.appendingPathComponent("veraison-ccatoken/cca_token.cbor").path
    static let cpak = data.appendingPathComponent("veraison-ccatoken/cca_platform.pub").path
    static let iak = data.appendingPathComponent("veraison-psatoken/public.pem").path
    static let ccaInstance = "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    static let psaInstance = "01fa58755f658627ce5460f29b75296713248cae7ad9e2984b90280efcbcb50248"

    func run(_ arguments: [String]) throws -> TestProcess.Result {
        try TestProcess.run(Self.enclava, ["verify-evidence"] + arguments, timeout: 120)
    }

    /// A file in a fresh folder (removed at the end of the test).
    func file(_ name: String, _ bytes: [UInt8], in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func ccaSampleVerifiesUnderItsCPAK() throws {
        let result = try run([Self.cca, "--platform", "cca", "--cpak", Self.cpak])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        for line in ["layout", "legacy collection (tag 399)", "secured (0x3003)", "instance id", Self.ccaInstance,
                     "rim", "rem3", "personalization value", "sw component 3", "verdict   VERIFIED"] {
            #expect(result.stdout.contains(line), "\(line): \(result.stdout)")
        }
        let named = try run([Self.cca, "--platform", "cca", "--cpak", "\(Self.ccaInstance)=\(Self.cpak)", "--json"])
        #expect(named.status == 0, "\(named.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [String: Any])
        #expect(object["platform"] as? String == "cca" && object["verified"] as? Bool == true)
        #expect(object["report_data"] as? String == String(repeating: "ab", count: 64))
        #expect(object["measurement"] as? String == String(repeating: "00", count: 32))
    }

    @Test func withoutItsKeyACCATokenIsRefused() throws {
        let none = try run([Self.cca, "--platform", "cca"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("UNTRUSTED_ROOT") && none.stderr.contains("platform.instance_id"), "\(none.stderr)")
        #expect(none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
        let wrongID = try run([Self.cca, "--platform", "cca", "--cpak", "\(Self.psaInstance)=\(Self.cpak)"])
        #expect(wrongID.status == 1 && wrongID.stderr.contains("UNTRUSTED_ROOT"), "\(wrongID.stderr)")
        let wrongKey = try run([Self.cca, "--platform", "cca", "--cpak", Self.iak])
        #expect(wrongKey.status == 1 && wrongKey.stderr.contains("SIGNATURE_INVALID"), "\(wrongKey.stderr)")
    }

    @Test(arguments: ["psa-2_0_0_sign1.bin", "psa-iot-1_sign1.bin"])
    func psaSamplesVerifyUnderAnEndorsementsFile(name: String) throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-arm-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = try String(contentsOfFile: Self.iak, encoding: .utf8)
        let endorsements = try file("endorsements.json", Array(try JSONSerialization.data(withJSONObject: [Self.psaInstance: pem])), in: folder)
        let token = Self.data.appendingPathComponent("veraison-psatoken/\(name)").path
        let result = try run([token, "--platform", "psa", "--endorsements", endorsements])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("client id") && result.stdout.contains("SPE 1.6.0") && result.stdout.contains("VERIFIED"), "\(result.stdout)")
    }

    /// The policy's `arm_cpaks` is the key; its pins refuse with the claim they are about; a flipped byte in the
    /// realm token's signature is refused in one line.
    @Test func policyPinsAndAFlippedByte() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-arm-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = try String(contentsOfFile: Self.cpak, encoding: .utf8)
        func policy(_ extra: [String: Any]) throws -> String {
            var object: [String: Any] = ["allowed_platforms": ["cca"], "arm_cpaks": [Self.ccaInstance: pem]]
            object.merge(extra) { _, new in new }
            return try file("policy-\(UUID().uuidString.prefix(6)).json", Array(try JSONSerialization.data(withJSONObject: object)), in: folder)
        }
        let pinned = try run([Self.cca, "--platform", "cca", "--policy", try policy(["expected_cca_rim": [String(repeating: "00", count: 32)]])])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        let wrong = try run([Self.cca, "--platform", "cca", "--policy", try policy(["expected_cca_rim": [String(repeating: "11", count: 32)]])])
        #expect(wrong.status == 1 && wrong.stderr.contains("MEASUREMENT_MISMATCH") && wrong.stderr.contains("realm.rim"), "\(wrong.stderr)")
        #expect(wrong.stdout.contains("REFUSED MEASUREMENT_MISMATCH") && wrong.stdout.contains("rim"), "\(wrong.stdout)")

        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.cca)))
        bytes[bytes.count - 5] ^= 0x01  // inside the realm token's signature
        let altered = try file("altered.cbor", bytes, in: folder)
        let flipped = try run([altered, "--platform", "cca", "--cpak", Self.cpak])
        #expect(flipped.status == 1 && flipped.stderr.contains("SIGNATURE_INVALID") && flipped.stderr.contains("realm.COSE_Sign1.signature"),
                "\(flipped.stderr)")
        #expect(flipped.stderr.split(separator: "\n").count == 1)
        let collateral = try run([Self.cca, "--platform", "cca", "--collateral", Self.cpak])
        #expect(collateral.status != 0 && collateral.stderr.contains("--cpak"), "\(collateral.stderr)")
    }
}
