import EnclavaAttestation
import EnclavaWire

/// The wire name of each evidence platform (`enclava.v1.EvidenceFormat`).
enum EvidenceFormatMapping {
    static func wireFormat(_ platform: EvidencePlatform) -> Enclava_V1_EvidenceFormat {
        switch platform {
        case .sevSNP: .sevSnp
        case .tdx: .tdxQuote
        case .sgx: .sgxQuote
        case .nitro, .cca, .psa: .unspecified
        }
    }
}
