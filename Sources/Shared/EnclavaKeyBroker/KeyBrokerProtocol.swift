import EnclavaAttestation
import EnclavaWire

/// The `enclava.keybroker.v1.KeyBroker` ttrpc service (Protos/keybroker.proto, DESIGN.md §7): its names, its
/// bounds, and the one refusal every failed release gets.
///
/// Both sides use these values, so the enclave's client and the broker cannot drift apart.
public enum KeyBrokerProtocol {
    /// The ttrpc service name.
    public static let serviceName = "enclava.keybroker.v1.KeyBroker"

    /// The two calls, in the order an enclave makes them on one connection.
    public enum Method: String, Sendable, CaseIterable {
        /// Manifest digest → a single-use challenge (id and nonce).
        case requestKey = "RequestKey"
        /// Challenge id, evidence and a fresh HPKE key → the model key sealed to that key.
        case attest = "Attest"
    }

    /// Size of a challenge id.
    public static let challengeIDByteCount = 16
    /// Size of a broker nonce.
    public static let nonceByteCount = 32
    /// Size of a manifest digest (SHA-384).
    public static let manifestDigestByteCount = 48
    /// Longest image name accepted (UTF-8 bytes); it is display text for the audit log.
    public static let maxImageNameBytes = 128
    /// Longest backend name accepted (UTF-8 bytes).
    public static let maxBackendBytes = 32
    /// Largest evidence blob accepted (an SNP report is 1184 bytes, a TDX quote with its PCK chain ~8 KiB).
    public static let maxEvidenceBytes = 64 << 10
    /// Most certificates accepted beside the evidence, and the largest one.
    public static let maxCertificates = 8
    public static let maxCertificateBytes = 16 << 10
    /// Largest relayed Intel collateral (dcap-qvl JSON) accepted.
    public static let maxCollateralBytes = 1 << 20
    /// The largest request frame a broker accepts (every field at its bound fits).
    public static let maxFrameBytes = 2 << 20

    /// The reason of the one refusal an enclave ever gets from the broker.
    public static let refusalReason = "KEY_RELEASE_REFUSED"

    /// The refusal every failed release gets, whatever failed (unknown image, revoked, challenge unknown, expired
    /// or replayed, evidence or policy failure): the same bytes every time, so a probing host learns nothing
    /// from it. Why it was refused is in the broker's audit log (`enclava keybroker log`).
    public static var refusal: RPCError {
        RPCError(.permissionDenied, reason: refusalReason,
                 message: "the key broker refused to release this image's key; its operator can read why in "
                     + "`enclava keybroker log`")
    }

    /// The wire evidence format of a platform, or nil for one the protocol does not carry (Nitro).
    public static func wireFormat(_ platform: EvidencePlatform) -> Enclava_V1_EvidenceFormat? {
        switch platform {
        case .sevSNP: .sevSnp
        case .tdx: .tdxQuote
        case .sgx: .sgxQuote
        case .nitro, .cca, .psa: nil
        }
    }

    /// The platform of a wire evidence format, or nil for an unknown one.
    public static func platform(_ format: Enclava_V1_EvidenceFormat) -> EvidencePlatform? {
        switch format {
        case .sevSnp: .sevSNP
        case .tdxQuote: .tdx
        case .sgxQuote: .sgx
        default: nil
        }
    }
}
