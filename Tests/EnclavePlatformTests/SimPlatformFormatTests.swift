import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

/// `--sim-format tdx|sgx`: the sim backend answers with Intel quotes that the client verifier accepts under
/// `allow_simulation`, while sealing stays bound to the runtime's SHA-384 under every format.
@Suite struct SimPlatformFormatTests {
    static let formats: [SimulatedPlatform.EvidenceFormat] = [.tdx, .sgx]

    @Test(arguments: formats) func evidenceIsAQuoteThatTheClientVerifierAccepts(_ format: SimulatedPlatform.EvidenceFormat) throws {
        let platform = try Fixture.platform()
        let executable = try Fixture.executable("runtime for \(format.rawValue)")
        let sim = try SimPlatform(home: Fixture.home, format: format, executablePath: executable)
        #expect(sim.format == format && sim.backend == "sim" && sim.isSimulated)
        #expect(sim.measurement == (try SHA2.hashFile(.sha384, path: executable)))
        #expect(sim.evidenceMeasurement == (try format.measurement(ofExecutableAt: executable)))
        #expect(sim.evidenceMeasurement.count == (format == .sgx ? 32 : 48))

        let nonce = SecureRandom.bytes(count: 32)
        let digest = SHA2.sha384(Array("manifest".utf8))
        let hpke = X25519PrivateKey().publicKey
        let evidence = try sim.evidence(reportData: ReportData.make(nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke))
        #expect(evidence.platform == format.platform)
        #expect(evidence.certificates.isEmpty)  // the PCK chain is inside the quote
        if format == .tdx {
            // MRTD is the fixed simulated firmware; the runtime is in RTMR1.
            let body = try TDXQuote(parsing: evidence.blob).body
            #expect(body.mrTD == sim.evidenceMeasurement && body.mrTD == SimulatedTDXRegisters.firmwareMRTD)
            #expect(body.rtmrs == sim.tdxRegisters.rtmrs)
            #expect(body.rtmrs[1] == SimulatedTDXRegisters.extend([UInt8](repeating: 0, count: 48), sim.measurement))
        } else {
            #expect(try SGXQuote(parsing: evidence.blob).body.mrEnclave == sim.evidenceMeasurement)
        }

        let intel = try SimulatedIntelPlatform.load(home: Fixture.home)
        var policy = AttestationPolicy(
            allowedPlatforms: [format.platform], allowSimulation: true,
            expectedManifestDigests: [Hex.encode(digest)],
            simulatedRootFingerprints: [try platform.rootFingerprint(for: format)])
        try format.pin(runtimeAt: executable, in: &policy)
        #expect(policy.expectedMeasurements == [Hex.encode(sim.evidenceMeasurement)])
        let verified = try EvidenceVerifier().verify(
            evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke, policy: policy)
        #expect(verified.isSimulated && verified.platform == format.platform)
        #expect(verified.rootFingerprint == intel.root.sha256Fingerprint)
        #expect(verified.measurement == sim.evidenceMeasurement)

        // The same quote under a policy for SEV-SNP, or without simulation, is refused.
        var snpOnly = policy
        snpOnly.allowedPlatforms = [.sevSNP]
        #expect(throws: AttestationError.self) {
            try EvidenceVerifier().verify(evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke, policy: snpOnly)
        }
        var noSimulation = policy
        noSimulation.allowSimulation = false
        let error = #expect(throws: AttestationError.self) {
            try EvidenceVerifier().verify(evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke, policy: noSimulation)
        }
        #expect(error?.code == .simulationNotAllowed)
    }

    @Test func sealingKeysDoNotDependOnTheFormat() throws {
        _ = try Fixture.platform()
        let executable = try Fixture.executable("one runtime")
        let keys = try SimulatedPlatform.EvidenceFormat.allCases.map {
            try SimPlatform(home: Fixture.home, format: $0, executablePath: executable).sealingKey(purpose: "enclava/v1 image dek")
        }
        #expect(keys.count == 3 && keys.allSatisfy { $0 == keys[0] })
    }

    @Test func eachQuoteIsFreshlySignedByOneAttestationKey() throws {
        _ = try Fixture.platform()
        let sim = try SimPlatform(home: Fixture.home, format: .tdx, executablePath: try Fixture.executable("fresh"))
        let first = try TDXQuote(parsing: sim.evidence(reportData: [UInt8](repeating: 1, count: 64)).blob)
        let second = try TDXQuote(parsing: sim.evidence(reportData: [UInt8](repeating: 2, count: 64)).blob)
        #expect(first.signatureData.attestationKey == second.signatureData.attestationKey)
        #expect(first.body.reportData != second.body.reportData)
        for count in [0, 63, 65] {
            let error = #expect(throws: PlatformError.self) { try sim.evidence(reportData: [UInt8](repeating: 0, count: count)) }
            #expect(error?.code == .invalidReportData)
        }
    }
}
