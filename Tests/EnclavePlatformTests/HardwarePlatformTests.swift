import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

/// Tests on real TEEs. Each runs only when `ENCLAVA_TEE` names the TEE this machine is
/// (`ENCLAVA_TEE=sev-snp`, `tdx` or `sgx`, run as root inside the guest / under `gramine-sgx`);
/// everywhere else they are skipped, because the hardware interfaces do not exist there.
@Suite struct HardwarePlatformTests {
    static let tee = ProcessInfo.processInfo.environment["ENCLAVA_TEE"] ?? ""

    @Test(.enabled(if: tee == "sev-snp", "needs an SEV-SNP guest: set ENCLAVA_TEE=sev-snp and run as root inside one"))
    func snpGuestProducesItsOwnReportAndKeys() throws {
        let platform = try TEEPlatformFactory.make(.sevSNP)
        let data = SecureRandom.bytes(count: 64)
        let evidence = try platform.evidence(reportData: data)
        let report = try SNPReport(parsing: evidence.blob)
        #expect(report.reportData == data && report.measurement == platform.measurement)
        if let leaf = evidence.certificates.first {
            let vcek = try Certificate(derRepresentation: leaf)
            #expect(report.isSignatureValid(for: try ECDSAPublicKey(spkiDER: vcek.subjectPublicKeyInfoDER)))
        }
        if (platform as? SNPPlatform)?.keyDevice != nil {
            let key = try platform.sealingKey(purpose: "enclava/v1 hardware test")
            #expect(try platform.sealingKey(purpose: "enclava/v1 hardware test") == key)
        }
        #expect(try TEEPlatformFactory.detect() == .sevSNP)
    }

    @Test(.enabled(if: tee == "tdx", "needs a TDX guest: set ENCLAVA_TEE=tdx and run as root inside one"))
    func tdxGuestProducesItsOwnQuote() throws {
        let platform = try TEEPlatformFactory.make(.tdx)
        let data = SecureRandom.bytes(count: 64)
        let quote = try TDXQuote(parsing: platform.evidence(reportData: data).blob)
        #expect(quote.body.reportData == data && quote.body.mrTD == platform.measurement)
        #expect(throws: PlatformError.self) { try platform.sealingKey(purpose: "x") }
        #expect(try TEEPlatformFactory.detect() == .tdx)
    }

    @Test(.enabled(if: tee == "sgx", "needs Gramine-SGX with DCAP: set ENCLAVA_TEE=sgx and run under gramine-sgx"))
    func gramineEnclaveProducesItsOwnQuoteAndKeys() throws {
        let platform = try TEEPlatformFactory.make(.sgx)
        let data = SecureRandom.bytes(count: 64)
        let quote = try SGXQuote(parsing: platform.evidence(reportData: data).blob)
        #expect(quote.body.reportData == data && quote.body.mrEnclave == platform.measurement)
        #expect(try platform.sealingKey(purpose: "x").count == 32)
        #expect(try TEEPlatformFactory.detect() == .sgx)
    }
}
