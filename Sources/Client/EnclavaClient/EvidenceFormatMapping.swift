import EnclavaAttestation
import EnclavaWire

/// The evidence platform of each wire evidence format.
enum EvidenceFormatMapping {
    static func platform(_ format: Enclava_V1_EvidenceFormat) -> EvidencePlatform? {
        switch format {
        case .sevSnp: .sevSNP
        case .tdxQuote: .tdx
        case .sgxQuote: .sgx
        default: nil
        }
    }
}
