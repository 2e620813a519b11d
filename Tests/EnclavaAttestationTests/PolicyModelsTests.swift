import EnclavaAttestation
import Foundation
import Testing

/// `models` in a policy (`enclava policy create --image a --image b`): names pin manifest digests, and a name can
/// never widen what the policy accepts.
@Suite struct PolicyModelsTests {
    let a = String(repeating: "aa", count: 48)
    let b = String(repeating: "bb", count: 48)

    func decode(_ json: String) throws -> AttestationPolicy {
        try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
    }

    @Test func namedImagesRoundTrip() throws {
        let policy = try decode(#"{"expected_manifest_digests": ["\#(a)", "\#(b)"], "models": {"fraud": {"manifest_digest": "\#(a)"}, "minilm": {"manifest_digest": "\#(b)"}}}"#)
        #expect(policy.pinnedModelNames == ["fraud", "minilm"])
        #expect(try policy.requireModel("minilm").manifestDigest == b)
        let again = try JSONDecoder().decode(AttestationPolicy.self, from: JSONEncoder().encode(policy))
        #expect(again == policy)
    }

    @Test func aPolicyWithoutModelsWritesNoModelsKey() throws {
        let policy = try decode(#"{"expected_manifest_digests": ["\#(a)"]}"#)
        #expect(policy.models == nil)
        #expect(!String(decoding: try JSONEncoder().encode(policy), as: UTF8.self).contains("models"))
    }

    @Test func aNameNeverWidensWhatThePolicyAccepts() throws {
        let policy = try decode(#"{"expected_manifest_digests": ["\#(a)"], "models": {"minilm": {"manifest_digest": "\#(b)"}}}"#)
        #expect(policy.expectedManifestDigests == [a])
        #expect(try policy.requireModel("minilm").manifestDigest == b)
    }

    @Test(arguments: [
        #"{"models": {"m": {"manifest_digest": "abcd"}}}"#,
        #"{"models": {"m": {"manifest_digest": "AAAA", "measurment": []}}}"#,
        #"{"models": {"": {"manifest_digest": "AAAA"}}}"#,
    ])
    func malformedEntriesAreRefused(template: String) {
        let json = template.replacingOccurrences(of: "\"AAAA\"", with: "\"\(a)\"")
            .replacingOccurrences(of: "{\"models\"", with: "{\"expected_manifest_digests\": [\"\(a)\"], \"models\"")
        let error = #expect(throws: AttestationError.self) { try decode(json) }
        #expect(error?.code == .invalidPolicy)
    }

    @Test func aNameThePolicyDoesNotPinIsModelNotPinned() throws {
        let policy = try decode(#"{"expected_manifest_digests": ["\#(a)"], "models": {"fraud": {"manifest_digest": "\#(a)"}}}"#)
        let error = #expect(throws: AttestationError.self) { try policy.requireModel("gpt-5") }
        #expect(error?.code == .modelNotPinned)
        #expect(error?.message.contains("it pins fraud") == true)
    }
}
