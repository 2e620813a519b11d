import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// TCB level matching and status convergence on real quotes with edited (unsigned) collateral, so that
/// every branch of Intel's rules is reached: SGX level, TDX level, TDX module identity, QE identity.
@Suite struct IntelTCBStatusTests {
    /// Intel QVL's convergence table.
    @Test func convergence() {
        let platform: [TCBStatus] = [.upToDate, .swHardeningNeeded, .configurationNeeded, .configurationAndSWHardeningNeeded,
                                     .outOfDate, .outOfDateConfigurationNeeded, .revoked]
        for status in platform {
            #expect(status.converged(with: .upToDate) == status)
            #expect(status.converged(with: .revoked) == .revoked)
        }
        #expect(TCBStatus.upToDate.converged(with: .outOfDate) == .outOfDate)
        #expect(TCBStatus.swHardeningNeeded.converged(with: .outOfDate) == .outOfDate)
        #expect(TCBStatus.configurationNeeded.converged(with: .outOfDate) == .outOfDateConfigurationNeeded)
        #expect(TCBStatus.configurationAndSWHardeningNeeded.converged(with: .outOfDate) == .outOfDateConfigurationNeeded)
        #expect(TCBStatus.outOfDate.converged(with: .outOfDate) == .outOfDate)
        #expect(TCBStatus.revoked.converged(with: .outOfDate) == .revoked)
    }

    /// The dcap-qvl TDX quote (UpToDate) evaluated against edited collateral.
    struct Fixture {
        let checked: CheckedTDXQuote
        let tcbInfo: [String: Any]
        let qeIdentity: [String: Any]
        let crls: QuoteCollateral

        init() throws {
            let sample = IntelTestData.samples.first { $0.file == "tdx/dcap-qvl/tdx_quote" }!
            crls = try #require(try IntelTestData.collateral(for: sample))
            checked = try IntelTestData.verifier.verifyTDX(quote: IntelTestData.bytes(sample.file), collateral: crls, at: sample.time)
            tcbInfo = try JSONSerialization.jsonObject(with: Data(crls.tcbInfo)) as! [String: Any]
            qeIdentity = try JSONSerialization.jsonObject(with: Data(crls.qeIdentity)) as! [String: Any]
        }

        func evaluate(tcbInfo: [String: Any]? = nil, qeIdentity: [String: Any]? = nil, sgx: Bool = false) throws -> TCBEvaluation {
            let info = try JSONDecoder().decode(TCBInfo.self, from: JSONSerialization.data(withJSONObject: tcbInfo ?? self.tcbInfo))
            let identity = try JSONDecoder().decode(QEIdentity.self, from: JSONSerialization.data(withJSONObject: qeIdentity ?? self.qeIdentity))
            let collateral = VerifiedCollateral(tcbInfo: info, qeIdentity: identity, pckCRL: crls.pckCRL, rootCRL: crls.rootCRL)
            return try TCBEvaluation.evaluate(
                collateral, pck: checked.pck, qeReport: checked.quote.signatureData.qeReport, tdReport: sgx ? nil : checked.quote.body)
        }
    }

    @Test func unchangedCollateralIsUpToDate() throws {
        let fixture = try Fixture()
        #expect(try fixture.evaluate().status == .upToDate)
    }

    @Test func outOfDateQEMakesThePlatformOutOfDate() throws {
        let fixture = try Fixture()
        var identity = fixture.qeIdentity
        identity["tcbLevels"] = [
            ["tcb": ["isvsvn": 99], "tcbDate": "2025-01-01T00:00:00Z", "tcbStatus": "UpToDate"],
            ["tcb": ["isvsvn": 1], "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "OutOfDate", "advisoryIDs": ["INTEL-SA-QE"]],
        ]
        let result = try fixture.evaluate(qeIdentity: identity)
        #expect(result.status == .outOfDate && result.qeStatus == .outOfDate && result.platformStatus == .upToDate)
        #expect(result.advisoryIDs == ["INTEL-SA-QE"])
        identity["tcbLevels"] = [["tcb": ["isvsvn": 1], "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "Revoked"]]
        #expect(try fixture.evaluate(qeIdentity: identity).status == .revoked)
        identity["tcbLevels"] = [["tcb": ["isvsvn": 99], "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "UpToDate"]]
        #expect(IntelTestData.attestationError { _ = try fixture.evaluate(qeIdentity: identity) }?.field == "QE_REPORT.ISVSVN")
    }

    @Test func qeIdentityFieldsAreChecked() throws {
        let fixture = try Fixture()
        let edits: [(String, Any, String)] = [
            ("mrsigner", String(repeating: "00", count: 32), "QE_REPORT.MRSIGNER"),
            ("isvprodid", 1, "QE_REPORT.ISVPRODID"),
            ("attributes", "00000000000000000000000000000000", "QE_REPORT.ATTRIBUTES"),
            ("miscselect", "00000001", "QE_REPORT.MISCSELECT"),
        ]
        for (key, value, field) in edits {
            var identity = fixture.qeIdentity
            identity[key] = value
            let error = IntelTestData.attestationError { _ = try fixture.evaluate(qeIdentity: identity) }
            #expect(error?.code == AttestationError.Code.qeIdentityMismatch && error?.field == field, "\(key)")
        }
    }

    @Test func tdxModuleIdentityLowersTheStatus() throws {
        let fixture = try Fixture()
        #expect(fixture.checked.quote.body.teeTCBSVN[1] == 1)   // major version 1: identity TDX_01
        var info = fixture.tcbInfo
        var identities = info["tdxModuleIdentities"] as! [[String: Any]]
        let index = identities.firstIndex { ($0["id"] as! String) == "TDX_01" }!
        identities[index]["tcbLevels"] = [
            ["tcb": ["isvsvn": 99], "tcbDate": "2025-01-01T00:00:00Z", "tcbStatus": "UpToDate"],
            ["tcb": ["isvsvn": 0], "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "OutOfDate", "advisoryIDs": ["INTEL-SA-MODULE"]],
        ]
        info["tdxModuleIdentities"] = identities
        let result = try fixture.evaluate(tcbInfo: info)
        #expect(result.status == .outOfDate && result.tdxModuleStatus == .outOfDate && result.advisoryIDs == ["INTEL-SA-MODULE"])
        identities[index]["mrsigner"] = String(repeating: "11", count: 48)
        info["tdxModuleIdentities"] = identities
        #expect(IntelTestData.attestationError { _ = try fixture.evaluate(tcbInfo: info) }?.field == "MRSIGNERSEAM")
        info["tdxModuleIdentities"] = identities.filter { ($0["id"] as! String) != "TDX_01" }
        #expect(IntelTestData.attestationError { _ = try fixture.evaluate(tcbInfo: info) }?.field == "TDX module identity")
    }

    /// The first level reached wins: with the newest level raised out of reach, the next one applies with its advisories.
    @Test func levelsAreMatchedNewestFirst() throws {
        let fixture = try Fixture()
        var info = fixture.tcbInfo
        var levels = info["tcbLevels"] as! [[String: Any]]
        var newest = levels[0]
        var tcb = newest["tcb"] as! [String: Any]
        tcb["pcesvn"] = 99
        newest["tcb"] = tcb
        levels[0] = newest
        levels[1]["tcbStatus"] = "ConfigurationNeeded"
        levels[1]["advisoryIDs"] = ["INTEL-SA-CONFIG"]
        info["tcbLevels"] = levels
        let result = try fixture.evaluate(tcbInfo: info)
        #expect(result.status == .configurationNeeded && result.advisoryIDs == ["INTEL-SA-CONFIG"])
        // A TDX component above the quote's TEE_TCB_SVN skips a level as well (index ≥ 2 when the major version > 0).
        var tdxLevels = fixture.tcbInfo["tcbLevels"] as! [[String: Any]]
        var first = tdxLevels[0]
        var firstTCB = first["tcb"] as! [String: Any]
        var components = firstTCB["tdxtcbcomponents"] as! [[String: Any]]
        components[2]["svn"] = 200
        firstTCB["tdxtcbcomponents"] = components
        first["tcb"] = firstTCB
        tdxLevels[0] = first
        info = fixture.tcbInfo
        info["tcbLevels"] = tdxLevels
        #expect(try fixture.evaluate(tcbInfo: info).status == .outOfDate)
        // Components 0 and 1 (module SVN and major version) are left to the module identity.
        components[2]["svn"] = 0
        components[0]["svn"] = 200
        firstTCB["tdxtcbcomponents"] = components
        first["tcb"] = firstTCB
        tdxLevels[0] = first
        info["tcbLevels"] = tdxLevels
        #expect(try fixture.evaluate(tcbInfo: info).status == .upToDate)
        // An unknown status string in a matched level is refused.
        levels = fixture.tcbInfo["tcbLevels"] as! [[String: Any]]
        levels[0]["tcbStatus"] = "Fine"
        info = fixture.tcbInfo
        info["tcbLevels"] = levels
        #expect(IntelTestData.attestationError { _ = try fixture.evaluate(tcbInfo: info) }?.code == AttestationError.Code.collateralInvalid)
    }

    @Test func fmspcAndPCEIDMustMatch() throws {
        let fixture = try Fixture()
        for (key, value) in [("fmspc", "00A067110000"), ("pceId", "0100")] {
            var info = fixture.tcbInfo
            info[key] = value
            #expect(IntelTestData.attestationError { _ = try fixture.evaluate(tcbInfo: info) }?.field == "TCB Info \(key)")
        }
    }
}
