import EnclavaCrypto
import Foundation

extension QuoteCollateral {
    /// The collateral in the dcap-qvl `QuoteCollateralV3` JSON layout that ``init(dcapQVLJSON:)`` reads:
    /// the signed documents as strings (their exact bytes), hex signatures and CRLs, PEM issuer chains.
    /// This is what travels in `GetEvidenceResponse.collateral` and what `enclava verify-evidence
    /// --collateral` accepts. Nothing in it is trusted by the reader: every part is signed.
    public var dcapQVLJSON: [UInt8] {
        let document: [String: String] = [
            "tcb_info": String(decoding: tcbInfo, as: UTF8.self),
            "tcb_info_signature": Hex.encode(tcbInfoSignature),
            "tcb_info_issuer_chain": tcbInfoIssuerChain.map(\.pemRepresentation).joined(),
            "qe_identity": String(decoding: qeIdentity, as: UTF8.self),
            "qe_identity_signature": Hex.encode(qeIdentitySignature),
            "qe_identity_issuer_chain": qeIdentityIssuerChain.map(\.pemRepresentation).joined(),
            "pck_crl": Hex.encode(pckCRL.derRepresentation),
            "root_ca_crl": Hex.encode(rootCRL.derRepresentation),
        ]
        // A dictionary of strings always serialises; the force is on a value built just above.
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data) + [0x0A]
    }
}
