import EnclavaAttestation
import EnclavaCrypto

/// The Intel SGX backend: the runtime runs in an SGX enclave under the Gramine library OS. Evidence is the
/// DCAP quote (v3) from Gramine's `/dev/attestation/quote`; its PCK chain is inside the quote, so
/// ``Evidence/certificates`` is empty. The measurement is MRENCLAVE (32 bytes). Sealing keys are
/// derived from Gramine's `_sgx_mrenclave` key (default: bound to this enclave) or `_sgx_mrsigner` key
/// (shared with other enclaves of the same signer).
public struct GramineSGXPlatform: TEEPlatform {
    /// `sgx`.
    public var backend: String { "sgx" }
    /// Always false.
    public var isSimulated: Bool { false }
    /// MRENCLAVE (32 bytes), from the enclave's own quote.
    public let measurement: [UInt8]
    /// MRSIGNER (32 bytes), from the same quote.
    public let mrSigner: [UInt8]
    /// ISVPRODID, from the same quote (with MRSIGNER, what `_sgx_mrsigner` keys are bound to).
    public let isvProdID: UInt16
    /// CPUSVN (16 bytes) and ISVSVN at start, from the same quote: the TCB EGETKEY mixes into sealing keys.
    public let cpuSVN: [UInt8]
    /// ISVSVN at start.
    public let isvSVN: UInt16
    /// Which SGX key sealing keys come from.
    public let sealingPolicy: GramineAttestation.SealingKey
    let attestation: GramineAttestation

    /// Salt of the sealing-key derivation from the SGX key.
    public static let sealingSalt = "enclava-sgx-sealing-v1"

    /// Opens Gramine's attestation interface under `root` and takes one quote to learn MRENCLAVE.
    /// - Parameters:
    ///   - root: the pseudo-file directory.
    ///   - sealingPolicy: the SGX key sealing keys come from.
    /// - Throws: ``PlatformError`` `.unavailable` outside Gramine or when its attestation type is not DCAP.
    public init(root: String = GramineAttestation.defaultRoot, sealingPolicy: GramineAttestation.SealingKey = .mrenclave) throws {
        try self.init(attestation: GramineAttestation(root: root), sealingPolicy: sealingPolicy)
    }

    init(attestation: GramineAttestation, sealingPolicy: GramineAttestation.SealingKey) throws {
        let type = try attestation.attestationType()
        guard type == "dcap" else {
            throw PlatformError(.unavailable, "Gramine's attestation type is `\(type)`, not `dcap`; Enclava verifies "
                + "DCAP quotes only: set `sgx.remote_attestation = \"dcap\"` in the Gramine manifest")
        }
        self.attestation = attestation
        self.sealingPolicy = sealingPolicy
        let (quote, _) = try Self.quote(attestation, reportData: SecureRandom.bytes(count: 64))
        measurement = quote.body.mrEnclave
        mrSigner = quote.body.mrSigner
        isvProdID = quote.body.isvProdID
        cpuSVN = quote.body.cpuSVN
        isvSVN = quote.body.isvSVN
    }

    /// A DCAP quote over `reportData`.
    /// - Throws: ``PlatformError``; `.invalidEvidence` when the quote does not parse, does not carry
    ///   `reportData`, or has another MRENCLAVE than at start.
    public func evidence(reportData: [UInt8]) throws -> Evidence {
        try PlatformSupport.checkReportData(reportData)
        let (quote, blob) = try Self.quote(attestation, reportData: reportData)
        guard quote.body.mrEnclave == measurement else {
            throw PlatformError(.invalidEvidence, "the new quote's MRENCLAVE differs from this enclave's; the "
                + "attestation interface is not answering for this enclave")
        }
        return Evidence(platform: .sgx, blob: blob, certificates: [])
    }

    /// `HKDF-SHA384(SGX key, salt "enclava-sgx-sealing-v1", info purpose ‖ MRENCLAVE or MRSIGNER)`, 32 bytes.
    public func sealingKey(purpose: String) throws -> SecureBytes {
        let hardwareKey = try attestation.sealingKey(sealingPolicy)
        let binding = sealingPolicy == .mrenclave ? measurement : mrSigner
        return try PlatformSupport.purposeKey(from: hardwareKey, salt: Self.sealingSalt, purpose: purpose, binding: binding)
    }

    static func quote(_ attestation: GramineAttestation, reportData: [UInt8]) throws -> (SGXQuote, [UInt8]) {
        let bytes = try attestation.quote(reportData: reportData)
        let quote: SGXQuote
        do {
            quote = try SGXQuote(parsing: bytes)
        } catch {
            throw PlatformError(.invalidEvidence, "Gramine's quote does not parse as an SGX DCAP quote v3: \(error)")
        }
        let blob = try PlatformSupport.trimmedQuote(bytes, byteCount: quote.byteCount, what: "SGX quote")
        try PlatformSupport.checkEchoed(reportData: quote.body.reportData, requested: reportData, what: "SGX quote")
        return (quote, blob)
    }
}
