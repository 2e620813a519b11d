import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// TDX and SGX quotes as `Evidence`: the report-data binding and the policy after the quote checks.
@Suite struct IntelEvidencePolicyTests {
    static let nonce = [UInt8](repeating: 0x42, count: 32)
    static let digest = SHA2.sha384(Array("manifest".utf8))
    static let key = [UInt8](repeating: 0x07, count: 32)

    static func policy(measurement: [UInt8], allowDebug: Bool = false) -> AttestationPolicy {
        AttestationPolicy(
            allowedPlatforms: [.tdx, .sgx], allowSimulation: false, allowDebug: allowDebug,
            expectedMeasurements: [Hex.encode(measurement)], expectedManifestDigests: [Hex.encode(digest)])
    }

    /// Real quotes carry their own report data, not Enclava's binding: refused at the binding step.
    @Test(arguments: IntelTestData.samples)
    func realQuotesFailTheBinding(_ sample: IntelTestData.Sample) throws {
        let evidence = Evidence(platform: sample.platform, blob: try IntelTestData.bytes(sample.file), certificates: [],
                                collateral: try IntelTestData.collateral(for: sample).map { EvidenceCollateral(quote: $0) })
        let error = IntelTestData.attestationError {
            _ = try IntelTestData.verifier.verify(
                evidence, nonce: Self.nonce, manifestDigest: Self.digest, hpkePublicKey: Self.key,
                policy: Self.policy(measurement: [0]), at: sample.time)
        }
        #expect(error?.code == sample.refusal ?? .reportDataMismatch)
    }

    /// The policy steps on a real checked quote whose report data is replaced by a binding (the binding
    /// cannot be forged into a real quote, so this exercises the steps after it).
    @Test func policyStepsOnCheckedQuotes() throws {
        let binding = ReportData.make(nonce: Self.nonce, manifestDigest: Self.digest, hpkePublicKey: Self.key)
        for sample in IntelTestData.verifiable {
            let bytes = try IntelTestData.bytes(sample.file)
            let evidence = Evidence(platform: sample.platform, blob: bytes, certificates: [],
                                    collateral: try IntelTestData.collateral(for: sample).map { EvidenceCollateral(quote: $0) })
            let real = try IntelTestData.verifier.attest(evidence, policy: Self.policy(measurement: []), at: sample.time)
            let checked = real.replacingReportData(binding)
            func finish(_ policy: AttestationPolicy, key: [UInt8] = Self.key) throws -> VerifiedEvidence {
                var policy = policy  // a TDX session policy pins RTMR0–2 as well; the TCB status is not under test
                policy.allowedTCBStatuses = TCBStatus.allCases
                for (index, rtmr) in (real.tdxQuote?.rtmrs ?? []).prefix(3).enumerated() { policy.expectedRTMRs["\(index)"] = [Hex.encode(rtmr)] }
                return try EvidenceVerifier.bind(
                    checked, nonce: Self.nonce, manifestDigest: Self.digest, hpkePublicKey: key, policy: policy)
            }
            if real.isDebug {
                let error = IntelTestData.attestationError { _ = try finish(Self.policy(measurement: real.measurement)) }
                #expect(error?.code == .debugNotAllowed, "\(sample.file)")
            }
            let verified = try finish(Self.policy(measurement: real.measurement, allowDebug: real.isDebug))
            #expect(verified.platform == sample.platform && !verified.isSimulated)
            #expect(verified.measurement == real.measurement)
            #expect(verified.rootFingerprint == IntelRootCertificates.sgxRootCA.sha256Fingerprint)
            #expect(verified.evidenceDigest == SHA2.sha384(bytes))
            let wrongMeasurement = IntelTestData.attestationError { _ = try finish(Self.policy(measurement: [1, 2, 3], allowDebug: true)) }
            #expect(wrongMeasurement?.code == .measurementMismatch)
            let wrongKey = IntelTestData.attestationError { _ = try finish(Self.policy(measurement: real.measurement, allowDebug: true), key: [UInt8](repeating: 1, count: 32)) }
            #expect(wrongKey?.code == .hpkeKeyMismatch)
        }
    }

    /// The debug samples are trustee's TD and Occlum enclave (which have no collateral, so they are refused
    /// before their debug flag matters).
    @Test func debugSamplesAreTheTrusteeOnes() throws {
        let debug = try IntelTestData.samples.filter {
            let bytes = try IntelTestData.bytes($0.file)
            return $0.platform == .tdx ? try TDXQuote(parsing: bytes).body.isDebug : try SGXQuote(parsing: bytes).body.isDebug
        }
        #expect(debug.map(\.file) == ["tdx/trustee/tdx_quote_4.dat", "sgx/trustee/occlum_quote.dat"])
        #expect(debug.allSatisfy { $0.refusal == .collateralMissing })
    }
}
