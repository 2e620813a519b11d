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

    /// One TDX or SGX sample: its file, a time at which it verifies, its collateral, if any, and what verifying
    /// it with that collateral gives (nil: it verifies).
    struct Sample: Sendable, CustomStringConvertible {
        let file: String
        let platform: EvidencePlatform
        let time: Date
        let collateral: String?
        let refusal: AttestationError.Code?
        var description: String { file }
    }

    /// Every TDX and SGX quote file at a time inside its certificates' validity. Times from PROVENANCE.md where
    /// it gives one (go-tdx-guest), else inside every collateral window (dcap-qvl; the v5 sample shares FMSPC
    /// 90c06f000000 with dcap-qvl's outdated quote and uses its collateral), else inside the PCK leaf's validity
    /// (trustee, which has no collateral and is therefore refused). The go-tdx-guest v4 quote and dcap-qvl's
    /// outdated quote match no TCB level of their collateral ("TCB not supported").
    static let samples: [Sample] = [
        Sample(file: "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", platform: .tdx, time: TestData.date("2023-07-01T01:00:00Z"), collateral: "go-tdx-guest", refusal: .tcbMismatch),
        Sample(file: "tdx/go-tdx-guest/quote_v5_sample.dat", platform: .tdx, time: TestData.date("2026-02-19T00:00:00Z"), collateral: "tdx/dcap-qvl/tdx_quote_outdated_collateral.json", refusal: nil),
        Sample(file: "tdx/dcap-qvl/tdx_quote", platform: .tdx, time: TestData.date("2025-06-20T00:00:00Z"), collateral: "tdx/dcap-qvl/tdx_quote_collateral.json", refusal: nil),
        Sample(file: "tdx/dcap-qvl/tdx_quote_outdated", platform: .tdx, time: TestData.date("2026-02-19T00:00:00Z"), collateral: "tdx/dcap-qvl/tdx_quote_outdated_collateral.json", refusal: .tcbMismatch),
        Sample(file: "tdx/trustee/tdx_quote_4.dat", platform: .tdx, time: TestData.date("2024-01-01T00:00:00Z"), collateral: nil, refusal: .collateralMissing),
        Sample(file: "sgx/dcap-qvl/sgx_quote", platform: .sgx, time: TestData.date("2025-06-20T00:00:00Z"), collateral: "sgx/dcap-qvl/sgx_quote_collateral.json", refusal: nil),
        Sample(file: "sgx/trustee/occlum_quote.dat", platform: .sgx, time: TestData.date("2024-01-01T00:00:00Z"), collateral: nil, refusal: .collateralMissing),
    ]

    /// The samples that verify with their collateral.
    static var verifiable: [Sample] { samples.filter { $0.refusal == nil } }

    static func collateral(for sample: Sample) throws -> QuoteCollateral? {
        switch sample.collateral {
        case nil: return nil
        case "go-tdx-guest": return try goTDXGuestCollateral()
        case let path?: return try dcapCollateral(path)
        }
    }

    /// Verifies `quote` (default: the sample's) as the sample's platform with `collateral` (default: the sample's).
    @discardableResult
    static func verify(
        _ sample: Sample, quote: [UInt8]? = nil, collateral: QuoteCollateral? = nil, withoutCollateral: Bool = false,
        at time: Date? = nil, trustAnchors: [Certificate] = IntelRootCertificates.all
    ) throws -> (tcb: TCBEvaluation?, reportData: [UInt8], isDebug: Bool) {
        let bytes = try quote ?? self.bytes(sample.file)
        let time = time ?? sample.time
        let collateral = withoutCollateral ? nil : try collateral ?? self.collateral(for: sample)
        switch sample.platform {
        case .tdx:
            let checked = try EvidenceVerifier.verifyTDX(quote: bytes, collateral: collateral, trustAnchors: trustAnchors, at: time)
            return (checked.tcb, checked.reportData, checked.isDebug)
        default:
            let checked = try EvidenceVerifier.verifySGX(quote: bytes, collateral: collateral, trustAnchors: trustAnchors, at: time)
            return (checked.tcb, checked.reportData, checked.isDebug)
        }
    }

    /// A placeholder TCB for quotes whose collateral is missing or does not fit (field tests only).
    static let notEvaluated = TCBEvaluation(
        status: .revoked, advisoryIDs: [], platformStatus: .revoked, tdxModuleStatus: nil, qeStatus: .revoked,
        tcbDate: "not evaluated", tcbEvaluationDataNumber: 0)

    /// The checks that need no collateral (quote signature, QE binding, QE signature, PCK chain to the Intel root)
    /// pass exactly when verifying without collateral stops at `COLLATERAL_MISSING`; then the quote's fields, for
    /// quotes that have no (fitting) collateral. The TCB is ``notEvaluated``.
    static func checkedTDXWithoutCollateral(_ bytes: [UInt8], at time: Date) throws -> CheckedTDXQuote {
        try expectOnlyCollateralMissing { _ = try EvidenceVerifier.verifyTDX(quote: bytes, collateral: nil, trustAnchors: IntelRootCertificates.all, at: time) }
        let quote = try TDXQuote(parsing: bytes)
        let chain = try quote.signatureData.parsePCKChain()
        return CheckedTDXQuote(quote: quote, pck: try PCKCertificate(chain[0]), root: chain[chain.count - 1], tcb: notEvaluated)
    }

    /// ``checkedTDXWithoutCollateral(_:at:)`` for SGX.
    static func checkedSGXWithoutCollateral(_ bytes: [UInt8], at time: Date) throws -> CheckedSGXQuote {
        try expectOnlyCollateralMissing { _ = try EvidenceVerifier.verifySGX(quote: bytes, collateral: nil, trustAnchors: IntelRootCertificates.all, at: time) }
        let quote = try SGXQuote(parsing: bytes)
        let chain = try quote.signatureData.parsePCKChain()
        return CheckedSGXQuote(quote: quote, pck: try PCKCertificate(chain[0]), root: chain[chain.count - 1], tcb: notEvaluated)
    }

    private static func expectOnlyCollateralMissing(_ body: () throws -> Void) throws {
        let error = attestationError(body)
        guard error?.code == .collateralMissing else {
            throw error ?? AttestationError(.malformedEvidence, "the quote verified without collateral")
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
