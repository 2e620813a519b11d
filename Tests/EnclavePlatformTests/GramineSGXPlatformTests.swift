import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

@Suite struct GramineSGXPlatformTests {
    static func gramine(type: String = "dcap") throws -> (FakeGramine, SGXQuote, [UInt8]) {
        let original = try PlatformTestData.sgxQuote()
        let parsed = try SGXQuote(parsing: original)
        let offset = try #require(PlatformTestData.reportDataOffset(in: original, reportData: parsed.body.reportData))
        let gramine = try FakeGramine(type: type)
        gramine.configure { $0.quote = { data in PlatformTestData.quote(original, withReportData: data, offset: offset) } }
        return (gramine, parsed, original)
    }

    @Test func evidenceIsTheDCAPQuoteAndTheMeasurementIsMRENCLAVE() throws {
        let (gramine, parsed, original) = try Self.gramine()
        let platform = try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave)
        #expect(platform.measurement == parsed.body.mrEnclave && platform.measurement.count == 32)
        #expect(platform.mrSigner == parsed.body.mrSigner)
        #expect(platform.backend == "sgx" && !platform.isSimulated)

        let evidence = try platform.evidence(reportData: parsed.body.reportData)
        #expect(evidence.platform == .sgx && evidence.certificates.isEmpty)
        #expect(evidence.blob == Array(original.prefix(parsed.byteCount)))
        let fresh = SecureRandom.bytes(count: 64)
        #expect(try SGXQuote(parsing: platform.evidence(reportData: fresh).blob).body.reportData == fresh)
    }

    @Test func sealingKeysComeFromGraminesSGXKeys() throws {
        let (gramine, parsed, _) = try Self.gramine()
        let mrenclave = try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave)
        let mrsigner = try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrsigner)
        let purpose = "enclava/v1 image dek"
        let enclaveKey = try mrenclave.sealingKey(purpose: purpose)
        let rawEnclaveKey = try SecureBytes([UInt8](Data(contentsOf: URL(fileURLWithPath: gramine.root + "/keys/_sgx_mrenclave"))))
        let expected = try HKDF.deriveKey(.sha384, ikm: rawEnclaveKey, salt: Array(GramineSGXPlatform.sealingSalt.utf8),
                                          info: Array(purpose.utf8) + parsed.body.mrEnclave, length: 32)
        #expect(enclaveKey == expected)
        let signerKey = try mrsigner.sealingKey(purpose: purpose)
        #expect(signerKey != enclaveKey && signerKey.count == 32)
        #expect(try mrenclave.sealingKey(purpose: "other") != enclaveKey)
    }

    @Test func missingOrDamagedKeysAreClearErrors() throws {
        let original = try PlatformTestData.sgxQuote()
        let parsed = try SGXQuote(parsing: original)
        let offset = try #require(PlatformTestData.reportDataOffset(in: original, reportData: parsed.body.reportData))
        let noKeys = try FakeGramine(mrenclaveKey: nil, mrsignerKey: [1, 2, 3])
        noKeys.configure { $0.quote = { PlatformTestData.quote(original, withReportData: $0, offset: offset) } }
        let platform = try GramineSGXPlatform(attestation: noKeys.attestation, sealingPolicy: .mrenclave)
        let missing = #expect(throws: PlatformError.self) { try platform.sealingKey(purpose: "x") }
        #expect(missing?.code == .sealingFailed && missing?.message.contains("_sgx_mrenclave") == true)
        let short = try GramineSGXPlatform(attestation: noKeys.attestation, sealingPolicy: .mrsigner)
        let wrongSize = #expect(throws: PlatformError.self) { try short.sealingKey(purpose: "x") }
        #expect(wrongSize?.code == .sealingFailed && wrongSize?.message.contains("3 bytes") == true)
    }

    @Test func notDCAPOrNotGramineIsUnavailable() throws {
        for type in ["none", "epid"] {
            let (gramine, _, _) = try Self.gramine(type: type)
            let error = #expect(throws: PlatformError.self) {
                try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave)
            }
            #expect(error?.code == .unavailable && error?.message.contains("`\(type)`") == true)
        }
        let outside = #expect(throws: PlatformError.self) { try GramineSGXPlatform(root: "/nonexistent/attestation") }
        #expect(outside?.code == .unavailable && outside?.message.contains("gramine-sgx") == true)
    }

    @Test func quoteFailuresAndWrongQuotesAreRefused() throws {
        let (gramine, _, original) = try Self.gramine()
        gramine.configure { $0.quoteErrno = EIO }
        let failed = #expect(throws: PlatformError.self) { try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave) }
        #expect(failed?.code == .evidenceFailed && failed?.message.contains("EIO") == true)

        gramine.configure { $0.quoteErrno = nil; $0.quote = { _ in original } }
        let stale = #expect(throws: PlatformError.self) { try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave) }
        #expect(stale?.code == .invalidEvidence)

        for cut in [0, 47, 432, original.count - 1] {
            gramine.configure { $0.quote = { _ in Array(original.prefix(cut)) } }
            let error = #expect(throws: PlatformError.self) { try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave) }
            #expect(error?.code == .invalidEvidence, "cut at \(cut)")
        }
        // A TDX quote is not an SGX quote.
        gramine.configure { $0.quote = { _ in (try? PlatformTestData.tdxQuoteV4()) ?? [] } }
        #expect(throws: PlatformError.self) { try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave) }
    }

    @Test func aPlainTreeIsReadWithTheRealFileCalls() throws {
        // Gramine's pseudo-files as plain files: the real POSIX path, no fake behind it.
        let original = try PlatformTestData.sgxQuote()
        let parsed = try SGXQuote(parsing: original)
        let root = try PlatformTestData.temporaryDirectory("gramine-tree")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/keys", withIntermediateDirectories: true)
        try Data("dcap".utf8).write(to: URL(fileURLWithPath: root + "/attestation_type"))
        try Data(original).write(to: URL(fileURLWithPath: root + "/quote"))
        _ = FileManager.default.createFile(atPath: root + "/user_report_data", contents: Data())
        let key = SecureRandom.bytes(count: 16)
        try Data(key).write(to: URL(fileURLWithPath: root + "/keys/_sgx_mrsigner"))

        let attestation = GramineAttestation(root: root)
        #expect(attestation.isPresent)
        #expect(try attestation.attestationType() == "dcap")
        #expect(try attestation.quote(reportData: parsed.body.reportData) == original)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/user_report_data"))) == parsed.body.reportData)
        #expect(try attestation.sealingKey(.mrsigner) == SecureBytes(key))
        // The pre-populated quote does not carry fresh report data: the platform refuses it.
        let error = #expect(throws: PlatformError.self) { try GramineSGXPlatform(root: root) }
        #expect(error?.code == .invalidEvidence)
    }
}
