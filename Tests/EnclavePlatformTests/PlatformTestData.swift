import EnclavaAttestation
import EnclavaCrypto
import Foundation
@testable import EnclavePlatform

/// Real evidence from `../shared/testdata/attestation` and temporary folders for the fakes.
enum PlatformTestData {
    /// `../shared` beside the checkout (`ENCLAVA_SHARED` overrides it).
    static let shared: URL = {
        if let explicit = ProcessInfo.processInfo.environment["ENCLAVA_SHARED"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// The bytes of `testdata/attestation/<path>`.
    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: shared.appendingPathComponent("testdata/attestation/" + path)))
    }

    /// DER certificates of a PEM file in `testdata/attestation`.
    static func pemChain(_ path: String) throws -> [[UInt8]] {
        let text = String(decoding: try bytes(path), as: UTF8.self)
        return try Certificate.parseChain(pem: text).map(\.derRepresentation)
    }

    /// A real SEV-SNP report with its VCEK and the Milan ASK, ARK (trustee set B: not debug, VCEK-signed).
    static func snpSample() throws -> (report: [UInt8], vcek: [UInt8], ask: [UInt8], ark: [UInt8]) {
        let chain = try pemChain("sev-snp/go-sev-guest/ask_ark_milan.pem")
        return (try bytes("sev-snp/trustee/test-report.bin"), try bytes("sev-snp/trustee/test-vcek.der"), chain[0], chain[1])
    }

    /// A real VLEK-signed SEV-SNP report with its VLEK and the Milan ASVK, ARK.
    static func snpVLEKSample() throws -> (report: [UInt8], vlek: [UInt8], asvk: [UInt8], ark: [UInt8]) {
        let chain = try pemChain("sev-snp/go-sev-guest/ask_ark_milan_vlek.pem")
        return (try bytes("sev-snp/trustee/test-vlek-report.bin"), try bytes("sev-snp/trustee/test-vlek.der"), chain[0], chain[1])
    }

    /// A real TDX quote v4 and a v5 one.
    static func tdxQuoteV4() throws -> [UInt8] { try bytes("tdx/dcap-qvl/tdx_quote") }
    static func tdxQuoteV5() throws -> [UInt8] { try bytes("tdx/go-tdx-guest/quote_v5_sample.dat") }
    /// A real SGX DCAP quote v3.
    static func sgxQuote() throws -> [UInt8] { try bytes("sgx/dcap-qvl/sgx_quote") }

    /// `report` with REPORT_DATA replaced (its signature no longer verifies; the platforms do not verify it).
    static func snpReport(_ report: [UInt8], withReportData data: [UInt8]) -> [UInt8] {
        var copy = report
        copy.replaceSubrange(0x50..<0x90, with: data)
        return copy
    }

    /// A quote with the body's report data replaced (TDX v4: body at 48, report data at +520; v5: body
    /// after a 6-byte descriptor; SGX: body at 48, report data at +320).
    static func quote(_ quote: [UInt8], withReportData data: [UInt8], offset: Int) -> [UInt8] {
        var copy = quote
        copy.replaceSubrange(offset..<(offset + 64), with: data)
        return copy
    }

    /// Where a parsed quote keeps its report data: found by searching for it (the parsers know the layout).
    static func reportDataOffset(in quote: [UInt8], reportData: [UInt8]) -> Int? {
        guard reportData.count == 64, quote.count >= 64 else { return nil }
        for start in 48...(quote.count - 64) where Array(quote[start..<(start + 64)]) == reportData { return start }
        return nil
    }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryDirectory(_ prefix: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
