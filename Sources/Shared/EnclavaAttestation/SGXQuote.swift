/// An Intel SGX DCAP quote, version 3, parsed by its own lengths — evidence-formats.md §3. Parsing checks
/// every offset and length and nothing cryptographic; ``EvidenceVerifier/verifySGX(quote:collateral:at:)``
/// does that.
public struct SGXQuote: Sendable {
    /// The largest quote we accept (real ones are about 5 KB).
    public static let maxByteCount = 128 << 10
    /// Offset of `signature_data_len`: the end of the signed header and body.
    public static let signedByteCount = QuoteHeader.byteCount + SGXReportBody.byteCount

    /// The header (version 3: `qe_svn` and `pce_svn` are meaningful).
    public let header: QuoteHeader
    /// The enclave's report body.
    public let body: SGXReportBody
    /// The signature data.
    public let signatureData: QuoteSignatureData
    /// The bytes the attestation key signed, `[0, 432)`.
    public let signedBytes: [UInt8]
    /// The quote's length by its own lengths (trailing bytes excluded).
    public let byteCount: Int

    /// Parses an SGX quote v3.
    /// - Throws: ``AttestationError`` `.malformedEvidence` naming the field; never traps on hostile input.
    public init(parsing bytes: [UInt8]) throws(AttestationError) {
        guard bytes.count <= Self.maxByteCount else {
            throw AttestationError(
                .malformedEvidence, field: "quote", expected: "at most \(Self.maxByteCount) bytes",
                actual: "\(bytes.count) bytes", "the SGX quote is implausibly large; it is not a quote")
        }
        let reader = LittleEndianReader(bytes: bytes, structure: "SGX quote")
        header = try QuoteHeader(parsing: reader)
        guard header.version == 3 else {
            throw AttestationError(
                .malformedEvidence, field: "header.version", expected: "3", actual: "\(header.version)",
                "this is not an SGX DCAP quote v3; TDX quotes (v4, v5) are `tdx` evidence")
        }
        body = try SGXReportBody(parsing: reader, at: QuoteHeader.byteCount, name: "report_body")
        let signatureLength = Int(try reader.u32(at: Self.signedByteCount, field: "signature_data_len"))
        let signature = try reader.bytes(at: Self.signedByteCount + 4, count: signatureLength, field: "signature_data")
        signatureData = try QuoteSignatureData(parsing: signature, layout: .v3)
        signedBytes = Array(bytes[0..<Self.signedByteCount])
        byteCount = Self.signedByteCount + 4 + signatureLength
    }
}
