import EnclavaCrypto
import Foundation
@testable import EnclavaAttestation

/// The real Intel TDX and SGX evidence in `shared/testdata/attestation/{tdx,sgx}` and the times and
/// values its PROVENANCE.md files give.
enum IntelTestData {
    static let root = TestData.shared.appendingPathComponent("testdata/attestation")

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(relative)))
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// dcap-qvl's collateral JSON.
    static func dcapCollateral(_ relative: String) throws -> QuoteCollateral {
        try QuoteCollateral(dcapQVLJSON: bytes(relative))
    }

    /// go-tdx-guest's 2023 PCS responses for tdx_prod_quote_SPR_E4.dat (FMSPC 50806f000000).
    static func goTDXGuestCollateral() throws -> QuoteCollateral {
        try QuoteCollateral(
            tcbInfoResponse: bytes("tdx/go-tdx-guest/sample_tcbInfo_response"),
            qeIdentityResponse: bytes("tdx/go-tdx-guest/sample_qeIdentity_response"),
            tcbInfoIssuerChainPEM: text("tdx/go-tdx-guest/tcb-info-issuer-chain.EXTRACTED.pem"),
            pckCRL: bytes("tdx/go-tdx-guest/pckcrl"), rootCRL: bytes("tdx/go-tdx-guest/rootcrl.der"))
    }

    static let verifier = EvidenceVerifier()

    /// One TDX or SGX sample: its file, a time at which it verifies and its collateral, if any.
    struct Sample: Sendable, CustomStringConvertible {
        let file: String
        let platform: EvidencePlatform
        let time: Date
        let collateral: String?
        var description: String { file }
    }

    /// Every TDX and SGX quote file, verified without collateral at a time inside its certificates' validity.
    /// Times from PROVENANCE.md where it gives one (go-tdx-guest), else inside every collateral window
    /// (dcap-qvl), else inside the PCK leaf's validity (trustee, which has no collateral).
    static let samples: [Sample] = [
        Sample(file: "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", platform: .tdx, time: TestData.date("2023-07-01T01:00:00Z"), collateral: "go-tdx-guest"),
        Sample(file: "tdx/go-tdx-guest/quote_v5_sample.dat", platform: .tdx, time: TestData.date("2026-02-03T01:00:00Z"), collateral: nil),
        Sample(file: "tdx/dcap-qvl/tdx_quote", platform: .tdx, time: TestData.date("2025-06-20T00:00:00Z"), collateral: "tdx/dcap-qvl/tdx_quote_collateral.json"),
        Sample(file: "tdx/dcap-qvl/tdx_quote_outdated", platform: .tdx, time: TestData.date("2026-02-19T00:00:00Z"), collateral: "tdx/dcap-qvl/tdx_quote_outdated_collateral.json"),
        Sample(file: "tdx/trustee/tdx_quote_4.dat", platform: .tdx, time: TestData.date("2024-01-01T00:00:00Z"), collateral: nil),
        Sample(file: "sgx/dcap-qvl/sgx_quote", platform: .sgx, time: TestData.date("2025-06-20T00:00:00Z"), collateral: "sgx/dcap-qvl/sgx_quote_collateral.json"),
        Sample(file: "sgx/trustee/occlum_quote.dat", platform: .sgx, time: TestData.date("2024-01-01T00:00:00Z"), collateral: nil),
    ]

    static func collateral(for sample: Sample) throws -> QuoteCollateral? {
        switch sample.collateral {
        case nil: return nil
        case "go-tdx-guest": return try goTDXGuestCollateral()
        case let path?: return try dcapCollateral(path)
        }
    }

    /// Verifies `quote` as the sample's platform, without or with collateral.
    @discardableResult
    static func verify(
        _ sample: Sample, quote: [UInt8]? = nil, collateral: QuoteCollateral? = nil, at time: Date? = nil,
        trustAnchors: [Certificate] = IntelRootCertificates.all
    ) throws -> (tcb: TCBEvaluation?, reportData: [UInt8], isDebug: Bool) {
        let bytes = try quote ?? self.bytes(sample.file)
        let time = time ?? sample.time
        switch sample.platform {
        case .tdx:
            let checked = try EvidenceVerifier.verifyTDX(quote: bytes, collateral: collateral, trustAnchors: trustAnchors, at: time)
            return (checked.tcb, checked.reportData, checked.isDebug)
        default:
            let checked = try EvidenceVerifier.verifySGX(quote: bytes, collateral: collateral, trustAnchors: trustAnchors, at: time)
            return (checked.tcb, checked.reportData, checked.isDebug)
        }
    }

    /// The error `body` throws, as an ``AttestationError``.
    static func attestationError(_ body: () throws -> Void) -> AttestationError? {
        do {
            try body()
            return nil
        } catch let error as AttestationError {
            return error
        } catch {
            return AttestationError(.malformedEvidence, field: "NOT AN AttestationError", "\(error)")
        }
    }
}
