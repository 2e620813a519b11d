import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaWire
import Foundation
import Testing

/// Generated: every real and simulated Intel quote arriving in a `GetEvidenceResponse` whose `collateral` the
/// host left out, cut short (each part removed) or swapped for another platform's — ``ConfidentialSession``
/// opens nothing and sends nothing after `GetEvidence`. With complete collateral the same answers get past the
/// collateral to the next check (the binding of this session's nonce, which a canned answer cannot satisfy).
@Suite struct ConfidentialSessionCollateralTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let data = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/attestation")
    static func bytes(_ relative: String) throws -> [UInt8] { Array(try Data(contentsOf: data.appendingPathComponent(relative))) }

    struct Quote: CustomTestStringConvertible, Sendable {
        let name: String
        let platform: EvidencePlatform
        let time: String?
        let collateral: String?   // dcap-qvl file, "sim", or nil (none exists)
        let foreign: String
        /// The refusal with complete collateral (a quote without any gets another platform's, which does not fit).
        let complete: AttestationError.Code
        var testDescription: String { name }
    }

    /// The dcap-qvl keys the verifier needs (dcap-qvl files also carry `pck_crl_issuer_chain`, which it does not).
    static let requiredKeys = ["tcb_info", "tcb_info_signature", "tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
                               "qe_identity_issuer_chain", "pck_crl", "root_ca_crl"]

    static let tdxCollateral = "tdx/dcap-qvl/tdx_quote_collateral.json"
    static let outdatedCollateral = "tdx/dcap-qvl/tdx_quote_outdated_collateral.json"
    static let sgxCollateral = "sgx/dcap-qvl/sgx_quote_collateral.json"

    static let quotes: [Quote] = [
        Quote(name: "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", platform: .tdx, time: "2023-07-01T01:00:00Z", collateral: nil, foreign: tdxCollateral, complete: .collateralInvalid),
        Quote(name: "tdx/go-tdx-guest/quote_v5_sample.dat", platform: .tdx, time: "2026-02-19T00:00:00Z", collateral: outdatedCollateral, foreign: tdxCollateral, complete: .reportDataMismatch),
        Quote(name: "tdx/dcap-qvl/tdx_quote", platform: .tdx, time: "2025-06-20T00:00:00Z", collateral: tdxCollateral, foreign: outdatedCollateral, complete: .reportDataMismatch),
        Quote(name: "tdx/dcap-qvl/tdx_quote_outdated", platform: .tdx, time: "2026-02-19T00:00:00Z", collateral: outdatedCollateral, foreign: tdxCollateral, complete: .tcbMismatch),
        Quote(name: "tdx/trustee/tdx_quote_4.dat", platform: .tdx, time: "2024-01-01T00:00:00Z", collateral: nil, foreign: tdxCollateral, complete: .collateralInvalid),
        Quote(name: "sgx/dcap-qvl/sgx_quote", platform: .sgx, time: "2025-06-20T00:00:00Z", collateral: sgxCollateral, foreign: tdxCollateral, complete: .reportDataMismatch),
        Quote(name: "sgx/trustee/occlum_quote.dat", platform: .sgx, time: "2024-01-01T00:00:00Z", collateral: nil, foreign: sgxCollateral, complete: .collateralInvalid),
        Quote(name: "simulated tdx", platform: .tdx, time: nil, collateral: "sim", foreign: tdxCollateral, complete: .reportDataMismatch),
        Quote(name: "simulated sgx", platform: .sgx, time: nil, collateral: "sim", foreign: sgxCollateral, complete: .reportDataMismatch),
    ]

    /// The quote and its complete collateral JSON (for a quote without any: another's, whose parts are checked first).
    func material(_ quote: Quote, intel: SimulatedIntelPlatform?) throws -> (blob: [UInt8], collateral: [UInt8], verifier: EvidenceVerifier) {
        guard let intel else {
            let collateral = quote.collateral ?? (quote.platform == .tdx ? Self.tdxCollateral : Self.sgxCollateral)
            return (try Self.bytes(quote.name), try Self.bytes(collateral), EvidenceVerifier())
        }
        let quoter = try SimulatedIntelQuoter(platform: intel)
        let reportData = [UInt8](repeating: 0x5A, count: 64)
        let blob = quote.platform == .tdx
            ? try quoter.tdxQuote(mrTD: SimulatedTDXRegisters.firmwareMRTD, reportData: reportData)
            : try quoter.sgxQuote(mrEnclave: [UInt8](repeating: 1, count: 32), reportData: reportData)
        return (blob, try intel.collateral(for: quote.platform).dcapQVLJSON, EvidenceVerifier(simulatedRoots: [intel.root]))
    }

    /// A session policy that pins everything it must (RTMR0–2 for TDX), so only the evidence decides.
    func policy(_ quote: Quote) -> AttestationPolicy {
        var policy = AttestationPolicy(
            allowedPlatforms: [quote.platform], allowSimulation: quote.collateral == "sim", allowDebug: true,
            expectedMeasurements: [Hex.encode(SHA2.sha384([1]))], expectedManifestDigests: [Hex.encode(SHA2.sha384([2]))])
        if quote.platform == .tdx { policy.expectedRTMRs = ["0": [Hex.encode(SHA2.sha384([3]))], "1": [Hex.encode(SHA2.sha384([4]))], "2": [Hex.encode(SHA2.sha384([5]))]] }
        policy.allowedTCBStatuses = TCBStatus.allCases
        return policy
    }

    /// Connects through a canned `GetEvidence` answer carrying `collateral`; the attestation error, and that
    /// nothing but `GetEvidence` was sent.
    func refusal(_ quote: Quote, intel: SimulatedIntelPlatform?, collateral: [UInt8]?) async throws -> AttestationError? {
        let (blob, _, verifier) = try material(quote, intel: intel)
        var answer = Enclava_V1_GetEvidenceResponse()
        answer.format = quote.platform == .tdx ? .tdxQuote : .sgxQuote
        answer.evidence = Data(blob)
        answer.hpkePublicKey = Data(X25519PrivateKey().publicKey)
        answer.manifestDigest = Data(SHA2.sha384([2]))
        if let collateral { answer.collateral = Data(collateral) }
        let transport = CannedTransport(evidence: answer)
        let time = quote.time.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
        do {
            _ = try await ConfidentialSession.connect(using: transport, policy: policy(quote), verifier: verifier, at: time)
            Issue.record("a session opened")
            return nil
        } catch let error as ClientError {
            #expect(error.code == .attestationFailed, "\(error)")
            #expect(await transport.methods == [.getEvidence])
            return error.attestationError
        }
    }

    @Test(arguments: quotes) func absentPartialOrSwappedCollateralOpensNoSession(_ quote: Quote) async throws {
        // Simulated quotes come from a simulated platform in a temporary home, removed afterwards.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-client-sim-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        var intel: SimulatedIntelPlatform?
        if quote.collateral == "sim" {
            _ = try SimulatedPlatform.initialize(home: home, force: false)
            intel = try SimulatedIntelPlatform.loadOrCreate(home: home)
        }
        func refusal(_ collateral: [UInt8]?) async throws -> AttestationError? {
            try await self.refusal(quote, intel: intel, collateral: collateral)
        }
        let (_, complete, _) = try material(quote, intel: intel)
        #expect(try await refusal(complete)?.code == quote.complete, "complete")
        let absent = try await refusal(nil)
        #expect(absent?.code == .collateralMissing && absent?.actual == "none")
        let json = try JSONSerialization.jsonObject(with: Data(complete)) as! [String: String]
        for key in Self.requiredKeys {
            var partial = json
            partial.removeValue(forKey: key)
            let error = try await refusal(Array(try JSONSerialization.data(withJSONObject: partial)))
            #expect(error?.code == .collateralMissing && error?.actual?.contains("`\(key)`") == true, "\(key): \(String(describing: error))")
        }
        let swapped = try await refusal(try Self.bytes(quote.foreign))
        #expect(swapped?.code == .collateralInvalid, "\(String(describing: swapped))")
    }
}
