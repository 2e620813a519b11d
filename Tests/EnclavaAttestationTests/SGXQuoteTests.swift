import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Real SGX DCAP v3 quotes parsed and verified; expected values are those PROVENANCE.md quotes.
@Suite struct SGXQuoteTests {
    let verifier = IntelTestData.verifier

    static func ascii(_ text: String, paddedTo count: Int) -> [UInt8] {
        Array(text.utf8) + [UInt8](repeating: 0, count: count - text.utf8.count)
    }

    @Test func dcapQVLQuoteFieldsAndTCBStatus() throws {
        let bytes = try IntelTestData.bytes("sgx/dcap-qvl/sgx_quote")
        let collateral = try IntelTestData.dcapCollateral("sgx/dcap-qvl/sgx_quote_collateral.json")
        let checked = try verifier.verifySGX(quote: bytes, collateral: collateral, at: TestData.date("2025-06-20T00:00:00Z"))
        let header = checked.quote.header
        #expect(header.version == 3 && header.qeSVN == 10 && header.pceSVN == 15)
        #expect(header.qeVendorID == hex("939a7233f79c4ca9940a0db3957f0607"))
        #expect(checked.quote.byteCount == 4600 && bytes.count == 4600)
        #expect(checked.mrEnclave == hex("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"))
        #expect(checked.mrSigner == hex("815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"))
        #expect(checked.isvProdID == 0 && checked.isvSVN == 0)
        #expect(checked.attributes == hex("0500000000000000e700000000000000"))
        #expect(!checked.isDebug)
        #expect(checked.reportData == Self.ascii("Hello, world!", paddedTo: 64))
        let qe = checked.quote.signatureData.qeReport
        #expect(qe.isvProdID == 1 && qe.isvSVN == 10)
        #expect(qe.mrSigner == hex("8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff"))
        #expect(checked.pck.certificate.issuer.contains("CN=Intel SGX PCK Processor CA"))
        #expect(checked.pck.certificate.notBefore == TestData.date("2023-09-20T21:53:43Z"))
        #expect(checked.pck.fmspc == hex("00a067110000"))
        #expect(checked.pck.platformInstanceID == nil)
        let tcb = try #require(checked.tcb)
        #expect(tcb.status == .configurationAndSWHardeningNeeded)
        #expect(tcb.advisoryIDs == ["INTEL-SA-00289", "INTEL-SA-00615"])
        #expect(tcb.qeStatus == .upToDate)
        #expect(tcb.tdxModuleStatus == nil)
        #expect(checked.claims.contains { $0.0 == "advisories" && $0.1 == "INTEL-SA-00289, INTEL-SA-00615" })
    }

    @Test func trusteeOcclumDebugEnclaveIsFlagged() throws {
        let bytes = try IntelTestData.bytes("sgx/trustee/occlum_quote.dat")
        let checked = try IntelTestData.checkedSGXWithoutCollateral(bytes, at: TestData.date("2024-01-01T00:00:00Z"))
        let header = checked.quote.header
        #expect(header.version == 3 && header.attestationKeyType == 2)
        #expect(header.qeSVN == 8 && header.pceSVN == 13)
        #expect(header.userData == hex("dccde9b31ce8860548173bb4a2a57a1600000000"))
        let body = checked.quote.body
        #expect(body.cpuSVN == hex("06060c0cffff00000000000000000000"))
        #expect(body.miscSelect == 1)
        #expect(body.attributes == hex("0700000000000000e700000000000000"))
        #expect(checked.isDebug)
        #expect(checked.mrEnclave == hex("8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68"))
        #expect(checked.mrSigner == hex("83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"))
        #expect(checked.isvProdID == 0 && checked.isvSVN == 0)
        #expect(checked.reportData == Self.ascii("test", paddedTo: 64))
        #expect(checked.pck.certificate.issuer.contains("CN=Intel SGX PCK Platform CA"))
        #expect(checked.pck.fmspc == hex("00606a000000"))
        // trustee's claims print the platform instance id byte-reversed.
        #expect(checked.pck.platformInstanceID == Array(hex("7a3a6941065cd5060bd93d3db2cfc0c8").reversed()))
        #expect(checked.claims.contains { $0.0 == "ATTRIBUTES" && $0.1.contains("DEBUG") })
    }

    /// A TDX quote is not SGX evidence and vice versa.
    @Test func quoteKindsAreNotInterchangeable() throws {
        let sgx = try IntelTestData.bytes("sgx/dcap-qvl/sgx_quote")
        let tdx = try IntelTestData.bytes("tdx/dcap-qvl/tdx_quote")
        let time = TestData.date("2025-06-20T00:00:00Z")
        let sgxCollateral = try IntelTestData.dcapCollateral("sgx/dcap-qvl/sgx_quote_collateral.json")
        let tdxCollateral = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_collateral.json")
        #expect(IntelTestData.attestationError { _ = try verifier.verifyTDX(quote: sgx, collateral: tdxCollateral, at: time) }?.field == "header.version")
        #expect(IntelTestData.attestationError { _ = try verifier.verifySGX(quote: tdx, collateral: sgxCollateral, at: time) }?.field == "header.version")
        // SGX collateral for a TDX quote: wrong TCB Info id.
        let error = IntelTestData.attestationError {
            _ = try verifier.verifyTDX(quote: tdx, collateral: sgxCollateral, at: TestData.date("2025-06-20T12:00:00Z"))
        }
        #expect(error?.code == AttestationError.Code.collateralInvalid)
    }
}
