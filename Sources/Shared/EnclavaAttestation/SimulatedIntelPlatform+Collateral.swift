import EnclavaCrypto
import Foundation

extension SimulatedIntelPlatform {
    /// Signs the simulated collateral: a TCB Info v3 (`TDX` or `SGX`) for the simulated FMSPC and a QE
    /// Identity v2 (`TD_QE` or `QE`), each the exact JSON bytes plus a raw `r ‖ s` ECDSA P-256 signature by
    /// the simulated TCB signing key, as Intel PCS serves them; written in the dcap-qvl JSON layout that
    /// ``QuoteCollateral/init(dcapQVLJSON:)`` reads (also accepted by `enclava verify-evidence --collateral`).
    struct CollateralSigner {
        let key: ECDSAPrivateKey
        /// The TCB signing certificate and the root.
        let chain: [Certificate]
        let pckCRL: CertificateRevocationList
        let rootCRL: CertificateRevocationList
        let issueDate: Date
        let nextUpdate: Date

        func collateralJSON(for platform: EvidencePlatform) throws -> [UInt8] {
            let isTDX = platform == .tdx
            let tcbInfo = try Self.json(isTDX ? tdxTCBInfo() : sgxTCBInfo())
            let qeIdentity = try Self.json(qeIdentity(isTDX: isTDX))
            let collateral = QuoteCollateral(
                tcbInfo: tcbInfo, tcbInfoSignature: try key.signature(for: tcbInfo, digest: .sha256).rawRepresentation,
                tcbInfoIssuerChain: chain, qeIdentity: qeIdentity,
                qeIdentitySignature: try key.signature(for: qeIdentity, digest: .sha256).rawRepresentation,
                qeIdentityIssuerChain: chain, pckCRL: pckCRL, rootCRL: rootCRL)
            return collateral.dcapQVLJSON
        }

        private var dates: [String: Any] {
            ["issueDate": Self.timestamp(issueDate), "nextUpdate": Self.timestamp(nextUpdate),
             "tcbEvaluationDataNumber": Identity.tcbEvaluationDataNumber]
        }

        private var tcbDate: String { Self.timestamp(issueDate) }

        private func sgxComponents() -> [[String: Any]] { Identity.sgxTCBComponents.map { ["svn": Int($0)] } }

        private func sgxTCBInfo() -> [String: Any] {
            dates.merging([
                "id": "SGX", "version": 3, "fmspc": Hex.encode(Identity.fmspc), "pceId": Hex.encode(Identity.pceID),
                "tcbType": 0,
                "tcbLevels": [
                    ["tcb": ["sgxtcbcomponents": sgxComponents(), "pcesvn": Int(Identity.pceSVN)],
                     "tcbDate": tcbDate, "tcbStatus": "UpToDate"],
                ],
            ]) { $1 }
        }

        private func tdxTCBInfo() -> [String: Any] {
            let zeroSigner = String(repeating: "0", count: 96)
            return dates.merging([
                "id": "TDX", "version": 3, "fmspc": Hex.encode(Identity.fmspc), "pceId": Hex.encode(Identity.pceID),
                "tcbType": 0,
                "tdxModule": ["mrsigner": zeroSigner, "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF"],
                "tdxModuleIdentities": [
                    ["id": "TDX_01", "mrsigner": zeroSigner, "attributes": "0000000000000000",
                     "attributesMask": "FFFFFFFFFFFFFFFF",
                     "tcbLevels": [["tcb": ["isvsvn": Int(Identity.teeTCBSVN[0])], "tcbDate": tcbDate, "tcbStatus": "UpToDate"]]],
                ],
                "tcbLevels": [
                    ["tcb": ["sgxtcbcomponents": sgxComponents(), "pcesvn": Int(Identity.pceSVN),
                             "tdxtcbcomponents": Identity.teeTCBSVN.map { ["svn": Int($0)] }],
                     "tcbDate": tcbDate, "tcbStatus": "UpToDate"],
                ],
            ]) { $1 }
        }

        private func qeIdentity(isTDX: Bool) -> [String: Any] {
            dates.merging([
                "id": isTDX ? "TD_QE" : "QE", "version": 2,
                "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
                "attributes": "11000000000000000000000000000000", "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
                "mrsigner": Hex.encode(Identity.qeMRSigner).uppercased(),
                "isvprodid": Int(isTDX ? Identity.tdQEProdID : Identity.sgxQEProdID),
                "tcbLevels": [["tcb": ["isvsvn": Int(Identity.qeISVSVN)], "tcbDate": tcbDate, "tcbStatus": "UpToDate"]],
            ]) { $1 }
        }

        private static func json(_ object: [String: Any]) throws -> [UInt8] {
            Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        }

        /// RFC 3339 in UTC without fractions, as Intel writes it.
        private static func timestamp(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
    }
}
