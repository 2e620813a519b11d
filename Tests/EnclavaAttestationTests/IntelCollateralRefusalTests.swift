import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated: every real and simulated Intel quote, through ``EvidenceVerifier/verifyEvidence(_:policy:at:)``,
/// with its collateral removed, each part removed (from the struct and from the wire JSON), or swapped for
/// another platform's — always refused, with the code that names why. Only complete collateral verifies.
@Suite struct IntelCollateralRefusalTests {
    /// A quote with the policy and verifier that accept it, and collateral: its own (if it has any) and another's.
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let evidence: @Sendable () throws -> Evidence
        let own: @Sendable () throws -> QuoteCollateral?
        let foreign: @Sendable () throws -> QuoteCollateral
        let policy: AttestationPolicy
        let verifier: EvidenceVerifier
        let time: Date
        /// What verifying with its own collateral gives (nil: verified).
        let outcome: AttestationError.Code?
        var description: String { name }
    }

    static func permissive(_ platform: EvidencePlatform, simulated: Bool = false) -> AttestationPolicy {
        var policy = AttestationPolicy.hardware([platform])
        policy.allowDebug = true
        policy.allowSimulation = simulated
        policy.allowedTCBStatuses = TCBStatus.allCases
        return policy
    }

    static let real: [Case] = IntelTestData.samples.map { sample in
        let other = sample.platform == .sgx ? "tdx/dcap-qvl/tdx_quote_collateral.json"
            : sample.collateral == "tdx/dcap-qvl/tdx_quote_collateral.json" ? "tdx/dcap-qvl/tdx_quote_outdated_collateral.json"
            : "tdx/dcap-qvl/tdx_quote_collateral.json"
        return Case(
            name: sample.file,
            evidence: { Evidence(platform: sample.platform, blob: try IntelTestData.bytes(sample.file), certificates: []) },
            own: { try IntelTestData.collateral(for: sample) }, foreign: { try IntelTestData.dcapCollateral(other) },
            policy: permissive(sample.platform), verifier: EvidenceVerifier(), time: sample.time, outcome: sample.refusal)
    }

    static let simulated: [Case] = [EvidencePlatform.tdx, .sgx].map { platform in
        Case(
            name: "simulated \(platform.rawValue)",
            evidence: {
                var evidence = try SimulatedIntelQuoteTests.evidence(platform, nonce: SecureRandom.bytes(count: 32))
                evidence.collateral = nil
                return evidence
            },
            own: { try SimulatedIntelQuoteTests.intel().collateral(for: platform) },
            foreign: { try IntelTestData.dcapCollateral(platform == .tdx ? "tdx/dcap-qvl/tdx_quote_collateral.json" : "sgx/dcap-qvl/sgx_quote_collateral.json") },
            policy: permissive(platform, simulated: true),
            verifier: EvidenceVerifier(simulatedRoots: [(try? SimulatedIntelQuoteTests.intel().root)].compactMap { $0 }),
            time: Date(), outcome: nil)
    }

    static let cases = real + simulated

    func verify(_ c: Case, _ collateral: QuoteCollateral?, client: IntelCollateralSource = IntelCollateralSource()) throws -> AttestationError? {
        var evidence = try c.evidence()
        evidence.collateral = collateral.map { EvidenceCollateral(quote: $0) }
        let verifier = EvidenceVerifier(simulatedRoots: c.verifier.simulatedRoots, intelCollateral: client)
        return IntelTestData.attestationError { _ = try verifier.verifyEvidence(evidence, policy: c.policy, at: c.time) }
    }

    /// The parts of ``QuoteCollateral`` a host can leave empty, and how to empty each.
    static let structParts: [(String, @Sendable (inout QuoteCollateral) -> Void)] = [
        ("TCB Info", { $0.tcbInfo = [] }), ("TCB Info signature", { $0.tcbInfoSignature = [] }),
        ("TCB Info issuer chain", { $0.tcbInfoIssuerChain = [] }), ("QE Identity", { $0.qeIdentity = [] }),
        ("QE Identity signature", { $0.qeIdentitySignature = [] }), ("QE Identity issuer chain", { $0.qeIdentityIssuerChain = [] }),
    ]

    @Test(arguments: cases) func onlyCompleteCollateralVerifies(_ c: Case) throws {
        // Its own collateral: the known outcome (verified, or its TCB, or none exists).
        let own = try c.own()
        #expect(try verify(c, own)?.code == c.outcome, "own collateral")
        // Removed.
        let removed = try verify(c, nil)
        #expect(removed?.code == .collateralMissing && removed?.field == "collateral" && removed?.actual == "none")
        // Each part emptied (a quote without collateral uses another's: the parts are checked first).
        let base = try own ?? c.foreign()
        for (part, empty) in Self.structParts {
            var partial = base
            empty(&partial)
            let error = try verify(c, partial)
            #expect(error?.code == .collateralMissing && error?.actual == "missing \(part)", "\(part): \(String(describing: error))")
        }
        // Each key left out of the wire JSON: it does not even parse into collateral.
        let json = try JSONSerialization.jsonObject(with: Data(base.dcapQVLJSON)) as! [String: String]
        for key in json.keys.sorted() {
            var partial = json
            partial.removeValue(forKey: key)
            let error = IntelTestData.attestationError { _ = try QuoteCollateral(dcapQVLJSON: Array(try JSONSerialization.data(withJSONObject: partial))) }
            #expect(error?.code == .collateralMissing && error?.actual?.contains("`\(key)`") == true, "\(key): \(String(describing: error))")
        }
        // Swapped for another platform's: refused.
        let swapped = try verify(c, try c.foreign())
        #expect(swapped?.code == .collateralInvalid, "\(String(describing: swapped))")
        // The client's own collateral takes precedence over the host's: its own beats a foreign one relayed.
        if let own {
            #expect(try verify(c, try c.foreign(), client: IntelCollateralSource(collateral: own))?.code == c.outcome)
            #expect(try verify(c, own, client: IntelCollateralSource(collateral: try c.foreign()))?.code == .collateralInvalid)
        }
    }

    /// dcap-qvl's TDX quote with the genuine collateral of another FMSPC, at a time inside that collateral's
    /// windows: refused by the FMSPC check itself.
    @Test func genuineCollateralOfAnotherFMSPCIsRefusedByTheFMSPCCheck() throws {
        let quote = try IntelTestData.bytes("tdx/dcap-qvl/tdx_quote")
        let other = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")
        let error = IntelTestData.attestationError {
            _ = try EvidenceVerifier().verifyEvidence(
                Evidence(platform: .tdx, blob: quote, certificates: [], collateral: EvidenceCollateral(quote: other)),
                policy: Self.permissive(.tdx), at: TestData.date("2026-02-19T00:00:00Z"))
        }
        #expect(error?.code == .collateralInvalid && error?.field == "TCB Info fmspc" && error?.expected == "b0c06f000000")
    }

    /// A cache folder: looked up by kind and FMSPC, written atomically, a corrupt file refused by name.
    @Test func cacheLookupIsByKindAndFMSPC() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = QuoteCollateralCache(directory: folder)
        let sample = IntelTestData.samples[2]
        let c = Self.real[2]
        #expect(try verify(c, nil, client: IntelCollateralSource(cache: cache))?.code == .collateralMissing)
        let entry = try cache.store(try #require(try IntelTestData.collateral(for: sample)))
        #expect(entry.kind == .tdx && Hex.encode(entry.fmspc) == "b0c06f000000" && entry.path.hasSuffix("/tdx-b0c06f000000.json"))
        #expect(try verify(c, nil, client: IntelCollateralSource(cache: cache)) == nil)
        // The SGX quote finds nothing under its own kind and FMSPC.
        #expect(try verify(Self.real[5], nil, client: IntelCollateralSource(cache: cache))?.code == .collateralMissing)
        try Data("{\"tcb_info\": 1}".utf8).write(to: URL(fileURLWithPath: entry.path))
        let corrupt = try verify(c, nil, client: IntelCollateralSource(cache: cache))
        #expect(corrupt?.code == .collateralMissing && corrupt?.message.hasPrefix(entry.path) == true)
    }
}
