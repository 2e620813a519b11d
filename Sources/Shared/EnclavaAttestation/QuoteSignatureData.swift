import EnclavaCrypto

/// The signature data of an Intel DCAP quote (`sgx_ql_ecdsa_sig_data_t` and what follows it), parsed
/// by lengths from the bytes the quote's `signature_data_len` covers — evidence-formats.md §2 and §3.
///
/// * v4/v5: `sig(64) ‖ attest_key(64) ‖ u16 type (6) ‖ u32 size ‖ [QE report(384) ‖ QE report sig(64) ‖
///   u16 auth_len ‖ auth ‖ u16 type (5) ‖ u32 size ‖ PEM chain]`.
/// * v3: the same without the type-6 wrapper.
public struct QuoteSignatureData: Sendable {
    /// Certification data type of the QE report certification data (v4/v5 wrapper).
    static let qeReportCertificationDataType: UInt16 = 6
    /// Certification data type of a PEM PCK chain.
    static let pckChainCertificationDataType: UInt16 = 5
    /// Largest PCK chain we read (real chains are about 3.7 KB).
    static let maxPCKChainBytes = 64 << 10
    /// Most certificates a PCK chain may hold (leaf, intermediate CA, root).
    static let maxPCKChainCertificates = 4

    /// The two layouts.
    enum Layout {
        /// SGX quote v3: no type-6 wrapper.
        case v3
        /// TDX quote v4 and v5: QE report certification data of type 6.
        case v4
    }

    /// ECDSA P-256 signature over the header and body, raw `r ‖ s` big-endian (64 bytes).
    public let signature: [UInt8]
    /// The attestation public key, raw `X ‖ Y` big-endian (64 bytes).
    public let attestationKey: [UInt8]
    /// The quoting enclave's report; its report data binds the attestation key.
    public let qeReport: SGXReportBody
    /// ECDSA P-256 signature over the QE report by the PCK leaf, raw `r ‖ s` (64 bytes).
    public let qeReportSignature: [UInt8]
    /// QE authentication data (32 bytes in every real quote we have).
    public let qeAuthData: [UInt8]
    /// The PEM text of the PCK chain (leaf, PCK Platform or Processor CA, root), as in the quote. It is
    /// parsed only by ``parsePCKChain()``, after the quote signature has been checked.
    public let pckChainPEM: [UInt8]

    /// Parses signature data that fills `bytes` (the `signature_data_len` bytes of the quote).
    init(parsing bytes: [UInt8], layout: Layout) throws(AttestationError) {
        let reader = LittleEndianReader(bytes: bytes, structure: "quote signature data")
        signature = try reader.bytes(at: 0, count: 64, field: "signature")
        attestationKey = try reader.bytes(at: 64, count: 64, field: "attestation_key")
        var offset = 128
        var end = bytes.count
        if layout == .v4 {
            let type = try reader.u16(at: offset, field: "certification_data.type")
            guard type == Self.qeReportCertificationDataType else {
                throw AttestationError(
                    .malformedEvidence, field: "certification_data.type", expected: "6", actual: "\(type)",
                    "the quote's certification data is not QE report certification data (type 6); only quotes "
                        + "from Intel's DCAP quoting enclave are supported")
            }
            let size = Int(try reader.u32(at: offset + 2, field: "certification_data.size"))
            offset += 6
            _ = try reader.bytes(at: offset, count: size, field: "certification_data")
            end = offset + size
        }
        let inner = LittleEndianReader(bytes: Array(bytes[offset..<end]), structure: "QE report certification data")
        qeReport = try SGXReportBody(parsing: inner, at: 0, name: "qe_report")
        qeReportSignature = try inner.bytes(at: 384, count: 64, field: "qe_report_signature")
        let authLength = Int(try inner.u16(at: 448, field: "qe_auth_data.size"))
        qeAuthData = try inner.bytes(at: 450, count: authLength, field: "qe_auth_data")
        let chainOffset = 450 + authLength
        let chainType = try inner.u16(at: chainOffset, field: "pck_certification_data.type")
        guard chainType == Self.pckChainCertificationDataType else {
            throw AttestationError(
                .malformedEvidence, field: "pck_certification_data.type", expected: "5", actual: "\(chainType)",
                "the quote does not carry its PCK certificate chain (certification data type 5); configure the "
                    + "quote provider to embed the PCK chain")
        }
        let chainSize = Int(try inner.u32(at: chainOffset + 2, field: "pck_certification_data.size"))
        guard chainSize <= Self.maxPCKChainBytes else {
            throw AttestationError(
                .malformedEvidence, field: "pck_certification_data.size", expected: "at most \(Self.maxPCKChainBytes)",
                actual: "\(chainSize)", "the quote's PCK chain is implausibly large; the quote is corrupt")
        }
        let pem = try inner.bytes(at: chainOffset + 6, count: chainSize, field: "pck_certification_data")
        if layout == .v4, chainOffset + 6 + chainSize != inner.bytes.count {
            throw AttestationError(
                .malformedEvidence, field: "certification_data.size", expected: "\(chainOffset + 6 + chainSize)",
                actual: "\(inner.bytes.count)",
                "the QE report certification data's size does not match its contents; the quote is corrupt")
        }
        pckChainPEM = pem
    }

    /// Parses the PCK chain (PEM, which may end in NUL bytes), leaf first.
    /// - Throws: ``AttestationError`` `.malformedEvidence` when it is not PEM certificates;
    ///   `.certificateChainInvalid` when it holds fewer than 2 or more than 4.
    public func parsePCKChain() throws(AttestationError) -> [Certificate] {
        let text = String(decoding: pckChainPEM.filter { $0 != 0 }, as: UTF8.self)
        let chain: [Certificate]
        do {
            chain = try Certificate.parseChain(pem: text)
        } catch {
            throw AttestationError(
                .malformedEvidence, field: "pck_certification_data",
                "the quote's PCK chain is not PEM X.509 certificates (\(error)); the quote is corrupt")
        }
        guard chain.count >= 2, chain.count <= Self.maxPCKChainCertificates else {
            throw AttestationError(
                .certificateChainInvalid, field: "pck_certification_data", expected: "PCK leaf, PCK CA, root",
                actual: "\(chain.count) certificates",
                "the quote's PCK chain must hold the PCK certificate, its CA and the Intel root")
        }
        return chain
    }
}
