import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// `QuoteCollateral.dcapQVLJSON`, the form collateral travels in on the wire (`GetEvidenceResponse.collateral`):
/// it reads back to the same collateral, from dcap-qvl's JSON and from Intel PCS responses alike, and what it
/// carries still verifies its quote.
@Suite struct QuoteCollateralJSONTests {
    @Test(arguments: ["sgx/dcap-qvl/sgx_quote_collateral.json", "tdx/dcap-qvl/tdx_quote_collateral.json"])
    func dcapQVLCollateralRoundTrips(_ file: String) throws {
        let collateral = try IntelTestData.dcapCollateral(file)
        let again = try QuoteCollateral(dcapQVLJSON: collateral.dcapQVLJSON)
        #expect(again == collateral)
    }

    @Test func pcsResponsesRoundTrip() throws {
        let collateral = try IntelTestData.goTDXGuestCollateral()
        let again = try QuoteCollateral(dcapQVLJSON: collateral.dcapQVLJSON)
        #expect(again == collateral)
        #expect(again.tcbInfo == collateral.tcbInfo, "the signed TCB Info bytes must survive exactly")
    }

    /// What arrives over the wire verifies its quote to the same TCB status, and an edit on the way is refused.
    @Test func collateralFromTheWireVerifiesAndAnEditIsRefused() throws {
        let sample = try #require(IntelTestData.samples.first { $0.file == "tdx/dcap-qvl/tdx_quote" })
        let original = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_collateral.json")
        let received = try QuoteCollateral(dcapQVLJSON: original.dcapQVLJSON)
        let expected = try IntelTestData.verify(sample, collateral: original).tcb?.status
        #expect(expected != nil)
        #expect(try IntelTestData.verify(sample, collateral: received).tcb?.status == expected)

        var edited = received
        edited.tcbInfo = Array(String(decoding: edited.tcbInfo, as: UTF8.self)
            .replacingOccurrences(of: "OutOfDate", with: "UpToDate").utf8)
        try #require(edited.tcbInfo != received.tcbInfo)
        let tampered = try QuoteCollateral(dcapQVLJSON: edited.dcapQVLJSON)
        #expect(IntelTestData.attestationError { try IntelTestData.verify(sample, collateral: tampered) } != nil)
    }
}
