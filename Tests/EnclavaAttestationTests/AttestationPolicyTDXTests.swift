import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// A TDX session policy must pin MRTD and RTMR0–2 (MRTD alone measures only the TD firmware): refused when
/// loaded, and — for a policy built in code — when a session is verified.
@Suite struct AttestationPolicyTDXTests {
    static func h(_ byte: UInt8) -> String { Hex.encode(SHA2.sha384([byte])) }
    static let digest = h(9)

    static func json(_ body: String) throws -> AttestationPolicy {
        try JSONDecoder().decode(AttestationPolicy.self, from: Data(body.utf8))
    }

    static func refusal(_ body: () throws -> Void) -> AttestationError? {
        do { try body(); return nil } catch let error as AttestationError { return error } catch { return nil }
    }

    /// The policy an older `enclava policy create --sim-format tdx` wrote (MRTD only), and every partial pin set.
    @Test(arguments: [
        (#""expected_measurements": ["\#(h(1))"]"#, "RTMR0, RTMR1, RTMR2"),
        (#""expected_mrtd": ["\#(h(1))"], "expected_rtmrs": {"0": ["\#(h(2))"], "1": ["\#(h(3))"]}"#, "RTMR2"),
        (#""expected_mrtd": ["\#(h(1))"], "expected_rtmrs": {"1": ["\#(h(3))"], "2": ["\#(h(4))"], "3": ["\#(h(5))"]}"#, "RTMR0"),
        (#""expected_rtmrs": {"0": ["\#(h(2))"], "1": ["\#(h(3))"], "2": ["\#(h(4))"]}"#, "MRTD"),
        (#""expected_mrtd": ["\#(h(1))"], "expected_rtmrs": {"0": [], "1": ["\#(h(3))"], "2": ["\#(h(4))"]}"#, "RTMR0"),
    ])
    func sessionPolicyWithoutRTMRsIsRefusedWhenLoaded(_ pins: String, _ missing: String) throws {
        let error = Self.refusal {
            _ = try Self.json(#"{"allowed_platforms": ["tdx"], "expected_manifest_digests": ["\#(Self.digest)"], \#(pins)}"#)
        }
        #expect(error?.code == .invalidPolicy)
        #expect(error?.actual == "not pinned: \(missing)", "\(String(describing: error))")
        #expect(error?.message.contains("MRTD measures only the TD firmware") == true)
        // Through a file too, with the file named.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-tdx-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("old.json").path
        try Data(#"{"allowed_platforms": ["sev-snp", "tdx"], "expected_manifest_digests": ["\#(Self.digest)"], \#(pins)}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let loaded = Self.refusal { _ = try AttestationPolicy.load(path: path) }
        #expect(loaded?.code == .invalidPolicy && loaded?.message.hasPrefix(path) == true)
    }

    @Test func completePinsLoadAndRawPoliciesNeedNone() throws {
        let session = try Self.json(#"""
            {"allowed_platforms": ["tdx"], "expected_manifest_digests": ["\#(Self.digest)"], "expected_mrtd": ["\#(Self.h(1))"],
             "expected_rtmrs": {"0": ["\#(Self.h(2))"], "1": ["\#(Self.h(3))"], "2": ["\#(Self.h(4))"]}, "require_tcb_status": true}
            """#)
        #expect(session.expectedRTMRs.count == 3 && session.requireTCBStatus)
        // `verify-evidence` policies (no manifest digest): any subset of pins, or none.
        _ = try Self.json(#"{"allowed_platforms": ["tdx"], "expected_mrtd": ["\#(Self.h(1))"]}"#)
        _ = try Self.json(#"{"allowed_platforms": ["tdx"]}"#)
        // A session policy that does not allow TDX needs no RTMRs.
        _ = try Self.json(#"{"allowed_platforms": ["sev-snp"], "expected_manifest_digests": ["\#(Self.digest)"], "expected_measurements": ["\#(Self.h(1))"]}"#)
    }

    /// A policy built in code skips the decoder: a TDX session is still refused before the binding is trusted.
    @Test func sessionVerificationRefusesAnMRTDOnlyPolicyBuiltInCode() throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try SimulatedIntelQuoteTests.evidence(.tdx, nonce: nonce)
        let policy = SimulatedIntelQuoteTests.policy(.tdx, roots: [intel.root])
        #expect(try SimulatedIntelQuoteTests.verify(evidence, nonce: nonce, policy: policy).isSimulated)
        var mrtdOnly = policy
        mrtdOnly.expectedRTMRs = [:]
        let error = Self.refusal { _ = try SimulatedIntelQuoteTests.verify(evidence, nonce: nonce, policy: mrtdOnly) }
        #expect(error?.code == .invalidPolicy && error?.field == "expected_rtmrs")
    }
}
