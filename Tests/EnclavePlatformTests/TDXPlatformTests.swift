import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

@Suite struct TDXPlatformTests {
    /// A fake kernel whose `tdx_guest` provider answers with the real quote, report data put in.
    static func kernel(quote original: [UInt8]) throws -> (FakeTSMKernel, TDXQuote) {
        let parsed = try TDXQuote(parsing: original)
        let offset = try #require(PlatformTestData.reportDataOffset(in: original, reportData: parsed.body.reportData))
        let kernel = try FakeTSMKernel(provider: "tdx_guest")
        kernel.configure {
            $0.produce = { inblob, _ in .success(PlatformTestData.quote(original, withReportData: inblob, offset: offset)) }
        }
        return (kernel, parsed)
    }

    @Test(arguments: ["v4", "v5"])
    func evidenceIsTheQuoteAndTheMeasurementIsMRTD(version: String) throws {
        let original = version == "v4" ? try PlatformTestData.tdxQuoteV4() : try PlatformTestData.tdxQuoteV5()
        let (kernel, parsed) = try Self.kernel(quote: original)
        let platform = try TDXPlatform(configFS: kernel.tsm, sealingSecret: nil)
        #expect(platform.measurement == parsed.body.mrTD && platform.measurement.count == 48)
        #expect(platform.initialRTMRs == parsed.body.rtmrs)
        #expect(platform.backend == "tdx" && !platform.isSimulated)

        let evidence = try platform.evidence(reportData: parsed.body.reportData)
        #expect(evidence.platform == .tdx && evidence.certificates.isEmpty)
        #expect(evidence.blob == Array(original.prefix(parsed.byteCount)), "the quote is passed on as the QE signed it")
        let fresh = SecureRandom.bytes(count: 64)
        #expect(try TDXQuote(parsing: platform.evidence(reportData: fresh).blob).body.reportData == fresh)
        #expect(kernel.snapshot.removed.count == 3)
    }

    @Test func sealingNeedsAProvisionedSecret() throws {
        let (kernel, parsed) = try Self.kernel(quote: try PlatformTestData.tdxQuoteV4())
        let bare = try TDXPlatform(configFS: kernel.tsm, sealingSecret: nil)
        let error = #expect(throws: PlatformError.self) { try bare.sealingKey(purpose: "enclava/v1 image dek") }
        #expect(error?.code == .sealingUnsupported && error?.message.contains("no hardware sealing key") == true)

        let secret = SecureBytes.random(count: 32)
        let provisioned = try TDXPlatform(configFS: kernel.tsm, sealingSecret: secret)
        let key = try provisioned.sealingKey(purpose: "enclava/v1 image dek")
        let expected = try HKDF.deriveKey(.sha384, ikm: secret, salt: Array(TDXPlatform.sealingSalt.utf8),
                                          info: Array("enclava/v1 image dek".utf8) + parsed.body.mrTD, length: 32)
        #expect(key == expected)
        #expect(throws: PlatformError.self) { try TDXPlatform(configFS: kernel.tsm, sealingSecret: SecureBytes.random(count: 16)) }
    }

    @Test func wrongProviderOrAnswersAreRefused() throws {
        let sev = try FakeTSMKernel(provider: "sev_guest")
        let wrong = #expect(throws: PlatformError.self) { try TDXPlatform(configFS: sev.tsm, sealingSecret: nil) }
        #expect(wrong?.code == .unavailable && wrong?.message.contains("sev_guest") == true)

        let original = try PlatformTestData.tdxQuoteV4()
        let stale = try FakeTSMKernel(provider: "tdx_guest")
        stale.configure { $0.produce = { _, _ in .success(original) } }
        let echoed = #expect(throws: PlatformError.self) { try TDXPlatform(configFS: stale.tsm, sealingSecret: nil) }
        #expect(echoed?.code == .invalidEvidence)

        // Truncated quotes (generated cut points) and non-zero bytes after the quote.
        let (_, parsed) = try Self.kernel(quote: original)
        let offset = try #require(PlatformTestData.reportDataOffset(in: original, reportData: parsed.body.reportData))
        for cut in [10, 47, 600, 1000, parsed.byteCount / 2, parsed.byteCount - 1] {
            let kernel = try FakeTSMKernel(provider: "tdx_guest")
            kernel.configure { $0.produce = { inblob, _ in .success(Array(PlatformTestData.quote(original, withReportData: inblob, offset: offset).prefix(cut))) } }
            let error = #expect(throws: PlatformError.self) { try TDXPlatform(configFS: kernel.tsm, sealingSecret: nil) }
            #expect(error?.code == .invalidEvidence, "cut at \(cut)")
        }
        let trailing = try FakeTSMKernel(provider: "tdx_guest")
        trailing.configure { $0.produce = { inblob, _ in .success(PlatformTestData.quote(original, withReportData: inblob, offset: offset) + [0, 0, 1]) } }
        #expect(throws: PlatformError.self) { try TDXPlatform(configFS: trailing.tsm, sealingSecret: nil) }
        let padded = try FakeTSMKernel(provider: "tdx_guest")
        padded.configure { $0.produce = { inblob, _ in .success(PlatformTestData.quote(original, withReportData: inblob, offset: offset) + [0, 0, 0]) } }
        let platform = try TDXPlatform(configFS: padded.tsm, sealingSecret: nil)
        #expect(try platform.evidence(reportData: parsed.body.reportData).blob == Array(original.prefix(parsed.byteCount)))

        let missing = #expect(throws: PlatformError.self) { try TDXPlatform(tsmRoot: "/nonexistent/tsm") }
        #expect(missing?.code == .unavailable && missing?.message.contains("/nonexistent/tsm") == true)
    }
}
