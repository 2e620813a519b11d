import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// The hardware keys of the policy (pins, minimum TCB, TCB statuses) and their checks on real evidence.
@Suite struct AttestationPolicyHardwareTests {
    static let h48 = String(repeating: "ab", count: 48)
    static let h32 = String(repeating: "cd", count: 32)

    @Test func hardwareKeysRoundTrip() throws {
        let json = """
            {"allowed_platforms": ["tdx", "sgx", "nitro"], "expected_mrtd": ["\(Self.h48)"], "expected_rtmrs": {"2": ["\(Self.h48)"]},
             "expected_mrenclave": ["\(Self.h32)"], "expected_mrsigner": ["\(Self.h32)"], "expected_pcrs": {"0": ["\(Self.h48)"]},
             "minimum_tcb": {"bootloader": 3, "snp": 8, "isv_svn": 2}, "allowed_tcb_statuses": ["UpToDate"],
             "require_tcb_status": true}
            """
        let policy = try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
        #expect(policy.expectedRTMRs == ["2": [Self.h48]] && policy.expectedPCRs == ["0": [Self.h48]])
        #expect(policy.minimumTCB == MinimumTCB(bootLoader: 3, snp: 8, isvSVN: 2))
        #expect(policy.allowedTCBStatuses == [.upToDate] && policy.requireTCBStatus)
        let again = try JSONDecoder().decode(AttestationPolicy.self, from: JSONEncoder().encode(policy))
        #expect(again == policy)
    }

    /// A policy written before these keys existed (as `enclava policy create` wrote it) still loads, with the
    /// documented defaults.
    @Test func oldPolicyFilesStayValid() throws {
        let json = """
            {"allow_debug": false, "allow_simulation": true, "allowed_platforms": ["sev-snp"],
             "expected_manifest_digests": ["\(Self.h48)"], "expected_measurements": ["\(Self.h48)"],
             "simulated_root_fingerprints": ["\(Self.h32)"]}
            """
        let policy = try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
        #expect(policy.allowedTCBStatuses == [.upToDate, .swHardeningNeeded])
        #expect(policy.minimumTCB == nil && !policy.requireTCBStatus && policy.expectedRTMRs.isEmpty)
    }

    @Test(arguments: [
        #"{"expected_mrtd": ["abcd"]}"#,
        #"{"expected_mrenclave": ["\#(String(repeating: "ab", count: 48))"]}"#,
        #"{"expected_rtmrs": {"4": ["\#(String(repeating: "ab", count: 48))"]}}"#,
        #"{"expected_rtmrs": {"x": []}}"#,
        #"{"expected_pcrs": {"0": ["zz"]}}"#,
        #"{"minimum_tcb": {"bootloder": 3}}"#,
        #"{"minimum_tcb": {"snp": 300}}"#,
        #"{"allowed_tcb_statuses": ["Fine"]}"#,
        #"{"allowed_tcb_statuses": []}"#,
        #"{"require_tcb_status": "yes"}"#,
    ])
    func badHardwareKeysAreRefused(_ json: String) throws {
        // The refusal names the key at fault (whether the policy decoder or the JSON decoder caught it).
        let key = String(json.dropFirst(2).prefix { $0 != "\"" })
        do {
            _ = try JSONDecoder().decode(AttestationPolicy.self, from: Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch let error as AttestationError {
            #expect(error.code == .invalidPolicy, "\(error)")
        } catch let error as DecodingError {
            #expect("\(error)".contains(key) || key == "minimum_tcb", "\(error) does not name \(key)")
        }
    }

    @Test func minimumTCBText() throws {
        #expect(try MinimumTCB(parsing: "bootloader=3,tee=0,snp=8,microcode=115") == MinimumTCB(bootLoader: 3, tee: 0, snp: 8, microcode: 115))
        #expect(try MinimumTCB(parsing: "isv_svn=700").isvSVN == 700)
        for bad in ["snp", "snp=x", "snp=256", "nope=1"] {
            #expect(throws: AttestationError.self) { try MinimumTCB(parsing: bad) }
        }
    }

    /// Minimum TCB on the trustee report (REPORTED_TCB bl=3 tee=0 snp=8 ucode=115; CURRENT_TCB ucode 0xce):
    /// the minimum is checked against REPORTED_TCB, each SPL at its boundary.
    @Test func minimumSNPTCBIsCheckedAgainstReportedTCB() throws {
        let sample = SNPSample.all[1]
        func check(_ minimum: MinimumTCB) -> AttestationError? {
            var policy = sample.policy
            policy.minimumTCB = minimum
            return refusal { _ = try EvidenceVerifier().verifyEvidence(sample.evidence(), policy: policy, at: sample.time) }
        }
        #expect(check(MinimumTCB(bootLoader: 3, tee: 0, snp: 8, microcode: 115)) == nil)
        let cases: [(MinimumTCB, String)] = [
            (MinimumTCB(bootLoader: 4), "bootloader"), (MinimumTCB(tee: 1), "tee"), (MinimumTCB(snp: 9), "snp"),
            (MinimumTCB(microcode: 116), "microcode"), (MinimumTCB(fmc: 1), "fmc"),
        ]
        for (minimum, field) in cases {
            let error = check(minimum)
            #expect(error?.code == .tcbBelowMinimum && error?.field == "REPORTED_TCB.\(field)", "\(field): \(String(describing: error))")
        }
        // 0xce is CURRENT_TCB's microcode; the check must not use it.
        #expect(check(MinimumTCB(microcode: 0xCE))?.code == .tcbBelowMinimum)
    }

    /// Pins on real Intel quotes: MRTD, each RTMR, MRENCLAVE, MRSIGNER, ISVSVN, and the TCB status from collateral.
    @Test func intelPinsAndTCBStatus() throws {
        let verifier = EvidenceVerifier()
        let tdxSample = IntelTestData.samples[2]
        let tdx = Evidence(platform: .tdx, blob: try IntelTestData.bytes(tdxSample.file), certificates: [],
                           collateral: EvidenceCollateral(quote: try IntelTestData.collateral(for: tdxSample)))
        let attested = try verifier.verifyEvidence(tdx, policy: .hardware([.tdx]), at: tdxSample.time)
        #expect(attested.tcb?.status == .upToDate)
        let quote = try #require(attested.tdxQuote)
        var policy = AttestationPolicy.hardware([.tdx])
        policy.expectedMRTD = [Hex.encode(quote.mrTD)]
        policy.expectedRTMRs = Dictionary(uniqueKeysWithValues: quote.rtmrs.enumerated().map { ("\($0.offset)", [Hex.encode($0.element)]) })
        policy.requireTCBStatus = true
        try policy.check(attested)
        for index in 0..<4 {
            var wrong = policy
            wrong.expectedRTMRs["\(index)"] = [Self.h48]
            let error = refusal { try wrong.check(attested) }
            #expect(error?.code == .measurementMismatch && error?.field == "RTMR\(index)" && error?.expected == Self.h48)
        }
        var wrongMRTD = policy
        wrongMRTD.expectedMRTD = [Self.h48]
        #expect(refusal { try wrongMRTD.check(attested) }?.field == "MRTD")
        // Without collateral the quote is refused, whatever the policy (require_tcb_status is redundant).
        for requireTCBStatus in [false, true] {
            var bare = AttestationPolicy.hardware([.tdx])
            bare.requireTCBStatus = requireTCBStatus
            let error = refusal {
                _ = try verifier.verifyEvidence(Evidence(platform: .tdx, blob: tdx.blob, certificates: []), policy: bare, at: tdxSample.time)
            }
            #expect(error?.code == .collateralMissing && error?.field == "collateral" && error?.actual == "none")
        }

        let sgxSample = IntelTestData.samples[5]
        let sgx = Evidence(platform: .sgx, blob: try IntelTestData.bytes(sgxSample.file), certificates: [],
                           collateral: EvidenceCollateral(quote: try IntelTestData.collateral(for: sgxSample)))
        let refused = refusal { _ = try verifier.verifyEvidence(sgx, policy: .hardware([.sgx]), at: sgxSample.time) }
        #expect(refused?.code == .tcbStatusNotAllowed)
        #expect(refused?.actual == "ConfigurationAndSWHardeningNeeded (advisories INTEL-SA-00289, INTEL-SA-00615)")
        var sgxPolicy = AttestationPolicy.hardware([.sgx])
        sgxPolicy.allowedTCBStatuses = [.configurationAndSWHardeningNeeded]
        let sgxAttested = try verifier.verifyEvidence(sgx, policy: sgxPolicy, at: sgxSample.time)
        let sgxQuote = try #require(sgxAttested.sgxQuote)
        sgxPolicy.expectedMREnclave = [Hex.encode(sgxQuote.mrEnclave)]
        sgxPolicy.expectedMRSigner = [Hex.encode(sgxQuote.mrSigner)]
        sgxPolicy.minimumTCB = MinimumTCB(isvSVN: sgxQuote.isvSVN)
        try sgxPolicy.check(sgxAttested)
        sgxPolicy.minimumTCB = MinimumTCB(isvSVN: sgxQuote.isvSVN + 1)
        #expect(refusal { try sgxPolicy.check(sgxAttested) }?.field == "ISVSVN")
        sgxPolicy.minimumTCB = nil
        sgxPolicy.expectedMRSigner = [Self.h32]
        #expect(refusal { try sgxPolicy.check(sgxAttested) }?.field == "MRSIGNER")
    }

    /// The Nitro hook: PCR pins through `expected_pcrs`, the debug document refused by default.
    @Test func nitroPCRPins() throws {
        let verifier = EvidenceVerifier()
        func document(_ name: String) throws -> [UInt8] {
            let text = try IntelTestData.text("nitro/blocky-nitrite/\(name)").filter { !$0.isWhitespace }
            return Array(try #require(Data(base64Encoded: text)))
        }
        let time = TestData.date("2024-09-07T14:37:40Z")
        let attested = try verifier.verifyEvidence(
            Evidence(platform: .nitro, blob: try document("nitro_attestation.b64"), certificates: []), policy: .hardware([.nitro]), at: time)
        #expect(attested.pcrs[0] == attested.measurement && !attested.isDebug)
        var policy = AttestationPolicy.hardware([.nitro])
        policy.expectedPCRs = ["0": [Hex.encode(attested.measurement)], "1": [Hex.encode(attested.pcrs[1] ?? [])]]
        try policy.check(attested)
        policy.expectedPCRs["1"] = [Self.h48]
        #expect(refusal { try policy.check(attested) }?.field == "PCR1")
        let debug = refusal {
            _ = try verifier.verifyEvidence(
                Evidence(platform: .nitro, blob: try document("nitro_attestation_debug.b64"), certificates: []),
                policy: .hardware([.nitro]), at: TestData.date("2024-09-07T14:38:07Z"))
        }
        #expect(debug?.code == .debugNotAllowed && debug?.field == "PCR0")
    }

    /// trustee's evidence.json (virtee serde JSON) rebuilds the exact 1184 bytes that the VCEK signed.
    @Test func virteeJSONRebuildsTheSignedReport() throws {
        let (report, certificates) = try SNPReport.fromVirteeJSON(TestData.bytes("trustee/evidence.json"))
        #expect(report == (try TestData.bytes("trustee/evidence.report.DERIVED.bin")))
        #expect(certificates == [try TestData.bytes("trustee/evidence.vcek.DERIVED.der")])
        for bad in ["{}", "[]", #"{"attestation_report": {"version": 3}}"#, "not json"] {
            #expect(throws: AttestationError.self) { try SNPReport.fromVirteeJSON(Array(bad.utf8)) }
        }
    }
}
