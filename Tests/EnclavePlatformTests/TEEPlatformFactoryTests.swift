import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

@Suite struct TEEPlatformFactoryTests {
    @Test func backendNamesParse() throws {
        #expect(try TEEPlatformFactory.parse("sim") == .sim)
        #expect(try TEEPlatformFactory.parse("sev-snp") == .sevSNP)
        #expect(try TEEPlatformFactory.parse("snp") == .sevSNP, "the platform spelling of verify-evidence works too")
        #expect(try SimulatedPlatform.EvidenceFormat(parsing: "SEV-SNP") == .snp)
        #expect(try TEEPlatformFactory.parse("tdx") == .tdx)
        #expect(try TEEPlatformFactory.parse("sgx") == .sgx)
        #expect(try TEEPlatformFactory.parse("auto") == nil)
        let error = #expect(throws: PlatformError.self) { try TEEPlatformFactory.parse("trustzone") }
        #expect(error?.message.contains("sim, sev-snp, tdx, sgx, auto") == true)
    }

    @Test func simIsTheSimulatedPlatform() throws {
        _ = try Fixture.platform()
        let platform = try TEEPlatformFactory.make(.sim, options: .init(simHome: Fixture.home, executablePath: try Fixture.executable("f")))
        #expect(platform is SimPlatform && platform.isSimulated)
    }

    @Test func missingHardwareNamesThePathsToCheck() throws {
        let options = TEEPlatformFactory.Options(simHome: "/nonexistent", tsmRoot: "/nonexistent/tsm/report",
                                                 sevGuestPath: "/nonexistent/sev-guest", gramineRoot: "/nonexistent/attestation")
        let snp = #expect(throws: PlatformError.self) { try TEEPlatformFactory.make(.sevSNP, options: options) }
        #expect(snp?.code == .unavailable && snp?.message.contains("sev-guest") == true)
        let tdx = #expect(throws: PlatformError.self) { try TEEPlatformFactory.make(.tdx, options: options) }
        #expect(tdx?.code == .unavailable && tdx?.message.contains("/nonexistent/tsm/report") == true)
        let sgx = #expect(throws: PlatformError.self) { try TEEPlatformFactory.make(.sgx, options: options) }
        #expect(sgx?.code == .unavailable && sgx?.message.contains("/nonexistent/attestation") == true)
        let none = #expect(throws: PlatformError.self) { try TEEPlatformFactory.detect(options: options) }
        #expect(none?.code == .unavailable)
        #expect(none?.message.contains("/nonexistent/tsm/report") == true && none?.message.contains("/nonexistent/sev-guest") == true)
    }

    @Test func detectionReadsTheInterfacesPresent() throws {
        let snp = try FakeTSMKernel(provider: "sev_guest")
        let tdx = try FakeTSMKernel(provider: "tdx_guest")
        let gramine = try FakeGramine()
        let nowhere = "/nonexistent/x"
        #expect(try TEEPlatformFactory.detect(options: .init(tsmRoot: snp.root, sevGuestPath: nowhere, gramineRoot: nowhere), files: snp) == .sevSNP)
        #expect(try TEEPlatformFactory.detect(options: .init(tsmRoot: tdx.root, sevGuestPath: nowhere, gramineRoot: nowhere), files: tdx) == .tdx)
        #expect(try TEEPlatformFactory.detect(options: .init(tsmRoot: nowhere, sevGuestPath: nowhere, gramineRoot: gramine.root), files: gramine) == .sgx)
        // The probe leaves no entry behind.
        #expect(snp.snapshot.created == snp.snapshot.removed && snp.snapshot.created.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: snp.root).isEmpty)
        // An unknown provider, and no provider at all, are reported.
        let other = try FakeTSMKernel(provider: "cca_guest")
        let unknown = #expect(throws: PlatformError.self) {
            try TEEPlatformFactory.detect(options: .init(tsmRoot: other.root, sevGuestPath: nowhere, gramineRoot: nowhere), files: other)
        }
        #expect(unknown?.message.contains("cca_guest") == true)
    }
}
