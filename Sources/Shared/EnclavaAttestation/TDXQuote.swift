/// An Intel TDX quote, version 4 or 5, parsed by its own lengths (trailing bytes after the signature
/// data are ignored) — evidence-formats.md §2. Parsing checks every offset and length before use and
/// checks nothing cryptographic; ``EvidenceVerifier/verifyTDX(quote:collateral:at:)`` does that.
public struct TDXQuote: Sendable {
    /// The largest quote we accept (real ones are about 5 KB).
    public static let maxByteCount = 128 << 10
    /// v5 body type of an SGX report body (not a TD quote).
    public static let bodyTypeSGX: UInt16 = 1
    /// v5 body type of a TDX 1.0 report body (584 bytes).
    public static let bodyTypeTDX10: UInt16 = 2
    /// v5 body type of a TDX 1.5 report body (648 bytes).
    public static let bodyTypeTDX15: UInt16 = 3

    /// The header.
    public let header: QuoteHeader
    /// The body type: 2 (TDX 1.0) for every v4 quote; 2 or 3 in a v5 quote.
    public let bodyType: UInt16
    /// The TD report body.
    public let body: TDReportBody
    /// The signature data.
    public let signatureData: QuoteSignatureData
    /// The bytes the attestation key signed: the header and body (v4: `[0, 632)`; v5: `[0, 54 + body_size)`).
    public let signedBytes: [UInt8]
    /// The quote's length by its own lengths (trailing bytes excluded).
    public let byteCount: Int

    /// Parses a TDX quote.
    /// - Throws: ``AttestationError`` `.malformedEvidence` naming the field that is missing, truncated or
    ///   out of range; never traps on hostile input.
    public init(parsing bytes: [UInt8]) throws(AttestationError) {
        guard bytes.count <= Self.maxByteCount else {
            throw AttestationError(
                .malformedEvidence, field: "quote", expected: "at most \(Self.maxByteCount) bytes",
                actual: "\(bytes.count) bytes", "the TDX quote is implausibly large; it is not a quote")
        }
        let reader = LittleEndianReader(bytes: bytes, structure: "TDX quote")
        header = try QuoteHeader(parsing: reader)
        guard header.version == 4 || header.version == 5 else {
            throw AttestationError(
                .malformedEvidence, field: "header.version", expected: "4 or 5", actual: "\(header.version)",
                "this is not a TDX quote (version \(header.version)); TDX quotes are version 4 or 5")
        }
        guard header.teeType == QuoteHeader.teeTypeTDX else {
            throw AttestationError(
                .malformedEvidence, field: "header.tee_type", expected: "0x81 (TDX)",
                actual: "0x" + String(header.teeType, radix: 16),
                "the quote is not from a TDX trust domain; verify SGX quotes as `sgx` evidence")
        }
        let bodyOffset: Int
        let bodySize: Int
        if header.version == 4 {
            bodyType = Self.bodyTypeTDX10
            bodyOffset = QuoteHeader.byteCount
            bodySize = TDReportBody.tdx10ByteCount
        } else {
            bodyType = try reader.u16(at: 48, field: "body_type")
            let declared = Int(try reader.u32(at: 50, field: "body_size"))
            let expected: Int
            switch bodyType {
            case Self.bodyTypeTDX10: expected = TDReportBody.tdx10ByteCount
            case Self.bodyTypeTDX15: expected = TDReportBody.tdx15ByteCount
            default:
                throw AttestationError(
                    .malformedEvidence, field: "body_type", expected: "2 (TDX 1.0) or 3 (TDX 1.5)",
                    actual: "\(bodyType)", "the v5 quote does not carry a TD report body")
            }
            guard declared == expected else {
                throw AttestationError(
                    .malformedEvidence, field: "body_size", expected: "\(expected)", actual: "\(declared)",
                    "the v5 quote's body size does not match its body type \(bodyType); the quote is corrupt")
            }
            bodyOffset = 54
            bodySize = declared
        }
        body = try TDReportBody(parsing: reader, at: bodyOffset, count: bodySize)
        let signedEnd = bodyOffset + bodySize
        let signatureLength = Int(try reader.u32(at: signedEnd, field: "signature_data_len"))
        let signature = try reader.bytes(at: signedEnd + 4, count: signatureLength, field: "signature_data")
        signatureData = try QuoteSignatureData(parsing: signature, layout: .v4)
        signedBytes = Array(bytes[0..<signedEnd])
        byteCount = signedEnd + 4 + signatureLength
    }
}
