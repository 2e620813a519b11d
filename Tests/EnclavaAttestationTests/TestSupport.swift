import EnclavaCrypto
import Foundation
@testable import EnclavaAttestation

/// Paths and small helpers shared by the attestation tests.
enum TestData {
    /// `../shared` relative to the package root.
    static let shared: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared").standardizedFileURL

    static let snp = shared.appendingPathComponent("testdata/attestation/sev-snp")

    static func bytes(_ relative: String) throws -> [UInt8] {
        let url = snp.appendingPathComponent(relative)
        if relative.hasSuffix(".hex") {
            let text = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Hex.decode(text) else { throw TestFailure("\(relative) is not hex") }
            return bytes
        }
        return Array(try Data(contentsOf: url))
    }

    static func certificate(_ relative: String) throws -> Certificate {
        if relative.hasSuffix(".pem") {
            return try Certificate(pem: String(contentsOf: snp.appendingPathComponent(relative), encoding: .utf8))
        }
        return try Certificate(derRepresentation: bytes(relative))
    }

    static func chain(_ relative: String) throws -> [Certificate] {
        try Certificate.parseChain(pem: String(contentsOf: snp.appendingPathComponent(relative), encoding: .utf8))
    }

    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

/// A temporary folder, removed by `remove()`.
func makeTemporaryDirectory(_ prefix: String = "enclava-attest") throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
    guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw TestFailure("mkdtemp failed")
    }
    return String(cString: path)
}

/// One simulated platform per test process: RSA-4096 generation is slow.
enum SimFixture {
    static let home: String = (try? makeTemporaryDirectory("enclava-sim")) ?? "/tmp/enclava-sim-fixture-\(getpid())"
    private static let result: Result<SimulatedPlatform, any Error> = Result {
        atexit { try? FileManager.default.removeItem(atPath: SimFixture.home) }
        return try SimulatedPlatform.initialize(home: home, force: false)
    }

    static func platform() throws -> SimulatedPlatform { try result.get() }

    static let measurement = SHA2.sha384(Array("a runtime executable".utf8))
    static let manifestDigest = SHA2.sha384(Array("a manifest".utf8))
    static let hpkeKey = X25519PrivateKey().publicKey

    /// A policy that accepts the fixture's evidence.
    static func policy() -> AttestationPolicy {
        AttestationPolicy(
            allowedPlatforms: [.sevSNP], allowSimulation: true, allowDebug: false,
            expectedMeasurements: [Hex.encode(measurement)], expectedManifestDigests: [Hex.encode(manifestDigest)])
    }

    /// A simulated report as SimPlatform makes it, with a chance to change it before signing.
    static func report(nonce: [UInt8], change: (inout SNPReport) -> Void = { _ in }) throws -> SNPReport {
        let platform = try platform()
        var report = SNPReport()
        report.policy = SNPGuestPolicy(abiMajor: 1, abiMinor: 55, flags: [.smt, .reservedMustBeOne])
        report.currentTCB = platform.tcb
        report.reportedTCB = platform.tcb
        report.committedTCB = platform.tcb
        report.launchTCB = platform.tcb
        report.chipID = platform.chipID
        report.reportID = SecureRandom.bytes(count: 32)
        report.measurement = measurement
        report.reportData = ReportData.make(nonce: nonce, manifestDigest: manifestDigest, hpkePublicKey: hpkeKey)
        (report.cpuidFamily, report.cpuidModel, report.cpuidStepping) = (0x19, 0x01, 0x01)
        change(&report)
        try report.sign(with: platform.vcekSigningKey())
        return report
    }

    static func evidence(nonce: [UInt8], change: (inout SNPReport) -> Void = { _ in }) throws -> Evidence {
        Evidence(
            platform: .sevSNP, blob: try report(nonce: nonce, change: change).serialized(),
            certificates: try platform().certificateChainDER)
    }

    static func verifier() throws -> EvidenceVerifier { EvidenceVerifier(simulatedRoots: [try platform().ark]) }
}
