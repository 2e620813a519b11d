import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// TDX and SGX evidence through ``EvidenceVerifier/verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)``.
@Suite struct IntelEvidenceVerifierTests {
    @Test(arguments: IntelTestData.samples)
    func realQuotesGoThroughTheQuoteChecks(_ sample: IntelTestData.Sample) throws {
        let bytes = try IntelTestData.bytes(sample.file)
        let policy = AttestationPolicy(
            allowedPlatforms: [.tdx, .sgx], allowSimulation: false, allowDebug: false, expectedMeasurements: [],
            expectedManifestDigests: [])
        func verify(_ blob: [UInt8], platform: EvidencePlatform? = nil, policy: AttestationPolicy = policy) -> AttestationError? {
            IntelTestData.attestationError {
                _ = try IntelTestData.verifier.verify(
                    Evidence(platform: platform ?? sample.platform, blob: blob, certificates: [],
                             collateral: try IntelTestData.collateral(for: sample).map { EvidenceCollateral(quote: $0) }),
                    nonce: [UInt8](repeating: 1, count: 32), manifestDigest: [UInt8](repeating: 2, count: 48),
                    hpkePublicKey: [UInt8](repeating: 3, count: 32), policy: policy, at: sample.time)
            }
        }
        // The quote verifies with its collateral (or is refused for its TCB or missing collateral); the report
        // data of those that verify is not an Enclava binding.
        #expect(verify(bytes)?.code == sample.refusal ?? .reportDataMismatch)
        let layout = try IntelQuoteLayout(bytes, platform: sample.platform)
        var altered = bytes
        altered[layout.body.lowerBound] ^= 1
        #expect(verify(altered)?.field == "quote signature")
        #expect(verify(bytes, platform: sample.platform == .tdx ? .sgx : .tdx)?.code == .malformedEvidence)
        var snpOnly = policy
        snpOnly.allowedPlatforms = [.sevSNP]
        #expect(verify(bytes, policy: snpOnly)?.code == .platformNotAllowed)
    }
}
