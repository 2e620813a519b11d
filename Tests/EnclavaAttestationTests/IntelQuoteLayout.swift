import EnclavaCrypto
import Foundation
@testable import EnclavaAttestation

/// Where the signed regions of a real quote lie, computed from the parsed quote (not hand-picked), and
/// helpers that rebuild a quote with other certification data.
struct IntelQuoteLayout {
    let bytes: [UInt8]
    let isTDX: Bool
    /// End of the signed header and body (offset of `signature_data_len`).
    let signedEnd: Int
    /// Offset of the body (48, or 54 in v5).
    let bodyOffset: Int
    let signatureData: QuoteSignatureData
    let byteCount: Int

    init(_ bytes: [UInt8], platform: EvidencePlatform) throws {
        self.bytes = bytes
        isTDX = platform == .tdx
        if isTDX {
            let quote = try TDXQuote(parsing: bytes)
            signedEnd = quote.signedBytes.count
            bodyOffset = quote.header.version == 5 ? 54 : 48
            signatureData = quote.signatureData
            byteCount = quote.byteCount
        } else {
            let quote = try SGXQuote(parsing: bytes)
            signedEnd = quote.signedBytes.count
            bodyOffset = 48
            signatureData = quote.signatureData
            byteCount = quote.byteCount
        }
    }

    var header: Range<Int> { 0..<48 }
    var body: Range<Int> { bodyOffset..<signedEnd }
    var signatureOffset: Int { signedEnd + 4 }
    var quoteSignature: Range<Int> { signatureOffset..<(signatureOffset + 64) }
    var attestationKey: Range<Int> { (signatureOffset + 64)..<(signatureOffset + 128) }
    /// Start of the QE report certification data (after the type-6 wrapper in v4/v5).
    var qeDataOffset: Int { signatureOffset + 128 + (isTDX ? 6 : 0) }
    var qeReport: Range<Int> { qeDataOffset..<(qeDataOffset + 384) }
    var qeReportSignature: Range<Int> { (qeDataOffset + 384)..<(qeDataOffset + 448) }
    var qeAuthData: Range<Int> { (qeDataOffset + 450)..<(qeDataOffset + 450 + signatureData.qeAuthData.count) }
    var pckChainHeader: Int { qeAuthData.upperBound }

    /// The quote rebuilt with `pem` as its PCK certification data, every enclosing length updated.
    func withPCKChain(_ pem: [UInt8]) -> [UInt8] {
        var inner = Array(bytes[qeDataOffset..<pckChainHeader])
        inner += le16(5) + le32(UInt32(pem.count)) + pem
        var signature = Array(bytes[signatureOffset..<(signatureOffset + 128)])
        if isTDX { signature += le16(6) + le32(UInt32(inner.count)) }
        signature += inner
        return Array(bytes[0..<signedEnd]) + le32(UInt32(signature.count)) + signature
    }

    /// The quote rebuilt with these certificates as its PCK chain.
    func withPCKChain(_ certificates: [Certificate]) -> [UInt8] {
        withPCKChain(Array(certificates.map(\.pemRepresentation).joined().utf8))
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// A small deterministic generator, so that generated cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
