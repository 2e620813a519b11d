import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Real TDX quotes parsed and verified; expected values are those PROVENANCE.md quotes from each source
/// repository's own tests.
@Suite struct TDXQuoteTests {
    let verifier = IntelTestData.verifier
    static let zero48 = [UInt8](repeating: 0, count: 48)

    @Test func goTDXGuestV4QuoteFieldsAndChain() throws {
        let bytes = try IntelTestData.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
        let checked = try IntelTestData.checkedTDXWithoutCollateral(bytes, at: TestData.date("2023-07-01T01:00:00Z"))
        let quote = checked.quote
        #expect(quote.header.version == 4)
        #expect(quote.byteCount == 4935)
        #expect(bytes.count == 4935 + 39)
        #expect(quote.header.qeVendorID == hex("939a7233f79c4ca9940a0db3957f0607"))
        #expect(checked.mrSeam == hex("2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656"))
        #expect(checked.tdAttributes == hex("0000004000000000"))
        #expect(checked.xfam == hex("e71a060000000000"))
        #expect(checked.mrTD == hex("6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"))
        #expect(quote.body.mrConfigID == Self.zero48)
        #expect(quote.body.mrOwner == Self.zero48)
        #expect(quote.body.mrOwnerConfig == Self.zero48)
        #expect(checked.reportData == hex("6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113"))
        #expect(checked.rtmrs == [
            hex("2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a"),
            hex("2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61"),
            hex("8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e"),
            Self.zero48,
        ])
        // The check_test "minimum_tee_tcb_svn" is a lower bound; the quote's own SVN meets it.
        let minimum = hex("03000400000000000000000000000000")
        #expect(zip(quote.body.teeTCBSVN, minimum).allSatisfy { $0 >= $1 })
        #expect(!checked.isDebug)
        let qe = quote.signatureData.qeReport
        #expect(qe.isvProdID == 2 && qe.isvSVN == 4)
        #expect(Hex.encode(qe.mrSigner).hasPrefix("dc9e2a7c") && Hex.encode(qe.mrSigner).hasSuffix("a8c5"))
        #expect(checked.pck.certificate.subjectCommonName == "Intel SGX PCK Certificate")
        #expect(checked.pck.certificate.issuer.contains("CN=Intel SGX PCK Platform CA"))
        #expect(checked.pck.certificate.notBefore == TestData.date("2022-09-20T13:20:31Z"))
        #expect(checked.pck.certificate.notAfter == TestData.date("2029-09-20T13:20:31Z"))
        #expect(checked.pck.fmspc == hex("50806f000000"))
        #expect(checked.pck.pceID == hex("0000"))
        #expect(checked.root == IntelRootCertificates.sgxRootCA)
    }

    /// go-tdx-guest verifies with its 2023 collateral at 2023-07-01T01:00Z and notes that the quote's real
    /// SVNs match no level of that TCB Info; Intel's QVL calls that "TCB not supported".
    @Test func goTDXGuestV4QuoteWithCollateralMatchesNoTCBLevel() throws {
        let bytes = try IntelTestData.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
        let collateral = try IntelTestData.goTDXGuestCollateral()
        let error = IntelTestData.attestationError {
            _ = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: TestData.date("2023-07-01T01:00:00Z"))
        }
        #expect(error?.code == .tcbMismatch)
        #expect(error?.field == "PCK TCB")
    }

    /// verify_test.go expects 2053-07-01 to fail because the collateral has expired.
    @Test func goTDXGuestCollateralExpires() throws {
        let bytes = try IntelTestData.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
        let collateral = try IntelTestData.goTDXGuestCollateral()
        let error = IntelTestData.attestationError {
            _ = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: TestData.date("2053-07-01T01:00:00Z"))
        }
        // The PCK chain has expired by then (2029), before the collateral is looked at.
        #expect(error?.code == AttestationError.Code.certificateChainInvalid)
        #expect(error?.field == "PCK chain")
        // Inside the CRL windows but after the TCB Info's nextUpdate (2023-07-18): the TCB Info has expired.
        let late = IntelTestData.attestationError {
            _ = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: TestData.date("2023-07-20T00:00:00Z"))
        }
        #expect(late?.code == AttestationError.Code.collateralInvalid)
    }

    @Test func goTDXGuestV5QuoteBodyType3() throws {
        let bytes = try IntelTestData.bytes("tdx/go-tdx-guest/quote_v5_sample.dat")
        let checked = try IntelTestData.checkedTDXWithoutCollateral(bytes, at: TestData.date("2026-02-03T01:00:00Z"))
        #expect(checked.quote.header.version == 5)
        #expect(checked.quote.bodyType == 3)
        #expect(checked.quote.byteCount == 5006)
        #expect(checked.quote.body.teeTCBSVN2?.count == 16)
        #expect(checked.quote.body.mrServiceTD?.count == 48)
        #expect(checked.pck.fmspc == hex("90c06f000000"))
        #expect(!checked.isDebug)
    }

    /// The 2026 TCB Info v5 response (issued 2026-02-01) verifies with the re-issued TCB Signing certificate
    /// (same key and serial, valid to 2032) that the dcap-qvl collateral carries.
    @Test func goTDXGuestTCBInfoV5SignatureVerifiesWithReissuedSigner() throws {
        let response = try IntelTestData.bytes("tdx/go-tdx-guest/sample_tcbinfo_response_v5")
        let (body, signature) = try QuoteCollateral.signedMember("tcbInfo", of: response, document: "TCB Info")
        let reissued = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_outdated_collateral.json").tcbInfoIssuerChain
        let extracted = try Certificate.parseChain(pem: IntelTestData.text("tdx/go-tdx-guest/tcb-info-issuer-chain.EXTRACTED.pem"))
        #expect(reissued[0].subjectPublicKeyInfoDER == extracted[0].subjectPublicKeyInfoDER)
        #expect(reissued[0].notAfter > TestData.date("2032-01-01T00:00:00Z"))
        let key = try ECDSAPublicKey(spkiDER: reissued[0].subjectPublicKeyInfoDER)
        #expect(EvidenceVerifier.isValidRawSignature(signature, by: key, over: body))
        var altered = body
        altered[10] ^= 0x01
        #expect(!EvidenceVerifier.isValidRawSignature(signature, by: key, over: altered))
    }

    @Test func dcapQVLV4QuoteIsUpToDate() throws {
        let bytes = try IntelTestData.bytes("tdx/dcap-qvl/tdx_quote")
        let collateral = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_collateral.json")
        let checked = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: TestData.date("2025-06-20T00:00:00Z"))
        #expect(checked.quote.byteCount == 4936)
        #expect(bytes.count == 5006 && bytes[4936...].allSatisfy { $0 == 0 })
        #expect(checked.mrTD == hex("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"))
        #expect(checked.rtmrs[0] == hex("44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0"))
        #expect(checked.mrSeam == hex("5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"))
        #expect(checked.quote.body.teeTCBSVN == hex("06010300000000000000000000000000"))
        #expect(checked.tdAttributes == hex("0000001000000000"))
        #expect(checked.quote.body.isSEPTVEDisabled && !checked.isDebug)
        #expect(checked.reportData == hex("9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20"))
        #expect(checked.pck.fmspc == hex("b0c06f000000"))
        let tcb = try #require(checked.tcb)
        #expect(tcb.status == .upToDate)
        #expect(tcb.advisoryIDs.isEmpty)
        #expect(tcb.tdxModuleStatus == .upToDate)
        #expect(tcb.qeStatus == .upToDate)
        #expect(tcb.tcbEvaluationDataNumber == 17)
        #expect(checked.claims.contains { $0.0 == "tcb status" && $0.1 == "UpToDate" })
    }

    /// dcap-qvl's "outdated" v5 quote: its SEAMLDR ACM SVN (3) is below the 5 that every level of its TCB Info
    /// requires. Intel's component-wise matching therefore selects no level ("TCB not supported"); dcap-qvl
    /// compares the SVN arrays lexicographically and reports OutOfDate instead. Both refuse the platform.
    @Test func dcapQVLOutdatedV5QuoteMatchesNoTCBLevel() throws {
        let bytes = try IntelTestData.bytes("tdx/dcap-qvl/tdx_quote_outdated")
        let time = TestData.date("2026-02-19T00:00:00Z")
        let checked = try IntelTestData.checkedTDXWithoutCollateral(bytes, at: time)
        #expect(checked.quote.header.version == 5 && checked.quote.bodyType == 3)
        #expect(checked.rtmrs.allSatisfy { $0 == Self.zero48 })
        #expect(checked.pck.fmspc == hex("90c06f000000"))
        #expect(checked.pck.sgxTCBComponents[7] == 3)
        let collateral = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")
        let error = IntelTestData.attestationError { _ = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: time) }
        #expect(error?.code == .tcbMismatch)
        #expect(error?.field == "PCK TCB")
    }

    @Test func trusteeDebugTDIsFlagged() throws {
        let bytes = try IntelTestData.bytes("tdx/trustee/tdx_quote_4.dat")
        let checked = try IntelTestData.checkedTDXWithoutCollateral(bytes, at: TestData.date("2024-01-01T00:00:00Z"))
        #expect(checked.isDebug)
        #expect(checked.quote.body.isSEPTVEDisabled)
        #expect(checked.tdAttributes == hex("0100001000000000"))
        #expect(checked.mrTD == hex("705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031"))
        #expect(Hex.encode(checked.rtmrs[0]).hasPrefix("e940da7c") && Hex.encode(checked.rtmrs[0]).hasSuffix("b288"))
        #expect(Hex.encode(checked.rtmrs[1]).hasPrefix("559cfcf4") && Hex.encode(checked.rtmrs[1]).hasSuffix("a596"))
        #expect(checked.rtmrs[2] == Self.zero48 && checked.rtmrs[3] == Self.zero48)
        #expect(checked.reportData == hex("7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429"))
        #expect(checked.quote.body.teeTCBSVN == hex("03000500000000000000000000000000"))
        #expect(checked.pck.fmspc == hex("50806f000000"))
        #expect(checked.claims.contains { $0.0 == "TD_ATTRIBUTES" && $0.1.contains("DEBUG") })
    }

    /// The v5 sample shares FMSPC 90c06f000000 with dcap-qvl's outdated quote, so that quote's collateral
    /// applies to it too (at a time inside that collateral's windows).
    @Test func goTDXGuestV5QuoteWithSameFMSPCCollateral() throws {
        let bytes = try IntelTestData.bytes("tdx/go-tdx-guest/quote_v5_sample.dat")
        let collateral = try IntelTestData.dcapCollateral("tdx/dcap-qvl/tdx_quote_outdated_collateral.json")
        let checked = try verifier.verifyTDX(quote: bytes, collateral: collateral, at: TestData.date("2026-02-19T00:00:00Z"))
        // PCK SGX SVNs 04 04 02 02 04 01 00 05, PCESVN 13 and TEE_TCB_SVN 0b 01 04 … reach the newest level;
        // TDX module TDX_01 at SVN 11 ≥ 6.
        let tcb = checked.tcb
        #expect(tcb.status == .upToDate && tcb.advisoryIDs.isEmpty)
        #expect(tcb.tdxModuleStatus == .upToDate)
        #expect(tcb.tcbEvaluationDataNumber == 18)
    }
    /// A v5 quote with a TDX 1.0 body (type 2), built from the v4 sample's bytes: it parses like the v4 body
    /// (the signature then fails: it covered the v4 layout). Wrong body types and sizes are malformed.
    @Test func v5BodyType2AndBadBodyHeaders() throws {
        let v4 = try IntelTestData.bytes("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
        let parsedV4 = try TDXQuote(parsing: v4)
        func v5(type: UInt16, size: UInt32) -> [UInt8] {
            var header = Array(v4[0..<48])
            header[0] = 5
            return header + [UInt8(type & 0xFF), UInt8(type >> 8)] + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * UInt32($0))) }
                + Array(v4[48...])
        }
        let quote = try TDXQuote(parsing: v5(type: 2, size: 584))
        #expect(quote.bodyType == 2 && quote.body == parsedV4.body && quote.body.teeTCBSVN2 == nil)
        #expect(quote.byteCount == parsedV4.byteCount + 6)
        let error = IntelTestData.attestationError {
            _ = try verifier.verifyTDX(quote: v5(type: 2, size: 584), collateral: IntelTestData.goTDXGuestCollateral(), at: TestData.date("2023-07-01T01:00:00Z"))
        }
        #expect(error?.field == "quote signature")
        for (type, size, field) in [(1, 384, "body_type"), (4, 584, "body_type"), (2, 648, "body_size"), (3, 584, "body_size"), (2, 0xFFFF_FFFF, "body_size")] {
            let error = IntelTestData.attestationError { _ = try TDXQuote(parsing: v5(type: UInt16(type), size: UInt32(size))) }
            #expect(error?.code == .malformedEvidence && error?.field == field, "type \(type) size \(size)")
        }
    }
}
