import EnclavaAttestation
import EnclavaKeyBroker
import EnclavaTesting
import EnclavaWire
import Foundation
import SwiftProtobuf
import Testing
@testable import KeyBroker

@Suite("Key broker messages")
struct KeyBrokerMessagesTests {
    static func validAttest() -> Enclava_Keybroker_V1_AttestRequest {
        var attest = Enclava_Keybroker_V1_AttestRequest()
        attest.challengeID = Data(repeating: 1, count: 16)
        attest.format = .sevSnp
        attest.evidence = Data(repeating: 2, count: 1184)
        attest.certificates = [Data(repeating: 3, count: 100)]
        attest.hpkePublicKey = Data(repeating: 4, count: 32)
        return attest
    }

    /// One field out of bounds at a time, and the field the refusal must name.
    static let attestCases: [(String, @Sendable (inout Enclava_Keybroker_V1_AttestRequest) -> Void)] = [
        ("challenge_id", { $0.challengeID = Data(repeating: 1, count: 15) }),
        ("hpke_public_key", { $0.hpkePublicKey = Data(repeating: 4, count: 33) }),
        ("format", { $0.format = .unspecified }),
        ("evidence", { $0.evidence = Data() }),
        ("evidence", { $0.evidence = Data(repeating: 2, count: KeyBrokerProtocol.maxEvidenceBytes + 1) }),
        ("certificates", { $0.certificates = Array(repeating: Data([1]), count: KeyBrokerProtocol.maxCertificates + 1) }),
        ("certificates[0]", { $0.certificates = [Data(repeating: 3, count: KeyBrokerProtocol.maxCertificateBytes + 1)] }),
        ("collateral", { $0.collateral = Data("{not json".utf8) }),
        ("collateral", { $0.collateral = Data(repeating: 0x20, count: KeyBrokerProtocol.maxCollateralBytes + 1) }),
    ]

    @Test("an Attest with one field out of bounds is refused naming that field", arguments: 0..<attestCases.count)
    func attestBounds(_ index: Int) throws {
        let (field, change) = Self.attestCases[index]
        var attest = Self.validAttest()
        change(&attest)
        let error = try #require(throws: KeyBrokerMessages.Invalid.self) {
            try KeyBrokerMessages.attestation(try attest.serializedBytes())
        }
        #expect(error.field == field)
        #expect(try KeyBrokerMessages.attestation(try Self.validAttest().serializedBytes()).evidence.blob.count == 1184)
    }

    @Test("a RequestKey is bounded, and control characters in the name cannot forge audit lines")
    func requestBounds() throws {
        var request = Enclava_Keybroker_V1_RequestKeyRequest()
        request.manifestDigest = Data(repeating: 1, count: 47)
        #expect(try #require(throws: KeyBrokerMessages.Invalid.self) {
            try KeyBrokerMessages.keyRequest(try request.serializedBytes())
        }.field == "manifest_digest")
        request.manifestDigest = Data(repeating: 1, count: 48)
        request.imageName = String(repeating: "n", count: KeyBrokerProtocol.maxImageNameBytes + 1)
        #expect(try #require(throws: KeyBrokerMessages.Invalid.self) {
            try KeyBrokerMessages.keyRequest(try request.serializedBytes())
        }.field == "image_name")
        request.imageName = "model\n2026-01-01 released"
        #expect(try KeyBrokerMessages.keyRequest(try request.serializedBytes()).imageName == "model?2026-01-01 released")
        #expect(try #require(throws: KeyBrokerMessages.Invalid.self) { try KeyBrokerMessages.keyRequest([0xFF, 0xFF]) }.field == "payload")
    }

    @Test("the enclave's side refuses a short nonce and a sealed key of the wrong size")
    func answerBounds() throws {
        var challenge = Enclava_Keybroker_V1_KeyChallenge()
        challenge.challengeID = Data(repeating: 1, count: 16)
        challenge.nonce = Data(repeating: 2, count: 16)
        #expect(try #require(throws: KeyBrokerMessages.Invalid.self) {
            try KeyBrokerMessages.challenge(try challenge.serializedBytes())
        }.field == "nonce")
        var release = Enclava_Keybroker_V1_KeyRelease()
        release.enc = Data(repeating: 1, count: 32)
        release.sealedKey = Data(repeating: 2, count: 47)
        #expect(try #require(throws: KeyBrokerMessages.Invalid.self) {
            try KeyBrokerMessages.release(try release.serializedBytes())
        }.field == "sealed_key")
    }

    @Test("the README's numbers are the code's")
    func readmeNumbers() throws {
        let readme = try String(contentsOf: TestPaths.packageRoot().appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Key broker").dropFirst().first)
        let book = ChallengeBook()
        #expect(section.contains("valid \(Int(book.lifetime)) s"))
        #expect(section.contains("at most \(book.maxPerConnection) open per connection"))
        #expect(section.contains("single-use \(KeyBrokerProtocol.nonceByteCount)-byte nonce"))
        #expect(section.contains("evidence \(KeyBrokerProtocol.maxEvidenceBytes >> 10) KiB"))
        #expect(section.contains("\(KeyBrokerProtocol.maxCertificates) certificates of \(KeyBrokerProtocol.maxCertificateBytes >> 10) KiB"))
        #expect(section.contains("collateral \(KeyBrokerProtocol.maxCollateralBytes >> 20) MiB"))
        #expect(section.contains("\(KeyBrokerProtocol.maxFrameBytes >> 20) MiB frames"))
    }
}
