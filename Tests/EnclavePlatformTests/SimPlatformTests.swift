import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

/// One simulated platform per test process (RSA-4096 generation is slow).
enum Fixture {
    static let home: String = {
        var template = Array((NSTemporaryDirectory() + "/enclava-platform.XXXXXX").utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return path.map { String(cString: $0) } ?? "/tmp/enclava-platform-\(getpid())"
    }()
    private static let result: Result<SimulatedPlatform, any Error> = Result {
        atexit { try? FileManager.default.removeItem(atPath: Fixture.home) }
        return try SimulatedPlatform.initialize(home: home, force: false)
    }

    static func platform() throws -> SimulatedPlatform { try result.get() }

    /// A small file to stand in for the runtime executable.
    static func executable(_ content: String) throws -> String {
        let path = home + "/exe-\(UInt32.random(in: 0...UInt32.max))"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite struct SimPlatformTests {
    @Test func measurementIsTheSHA384OfTheExecutable() throws {
        _ = try Fixture.platform()
        let path = try Fixture.executable("runtime v1")
        let sim = try SimPlatform(home: Fixture.home, executablePath: path)
        #expect(sim.measurement == SHA2.sha384(Array("runtime v1".utf8)))
        #expect(sim.backend == "sim" && sim.isSimulated)
        // By default the running executable is measured.
        let selfMeasured = try SimPlatform(home: Fixture.home)
        #expect(selfMeasured.measurement == (try SHA2.hashFile(.sha384, path: "/proc/self/exe")))
    }

    @Test func evidenceIsAVersion3ReportThatTheVerifierAccepts() throws {
        let platform = try Fixture.platform()
        let sim = try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable("runtime v2"))
        let nonce = SecureRandom.bytes(count: 32)
        let digest = SHA2.sha384(Array("manifest".utf8))
        let hpke = X25519PrivateKey().publicKey
        let evidence = try sim.evidence(reportData: ReportData.make(nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke))
        #expect(evidence.platform == .sevSNP)
        #expect(evidence.certificates == platform.certificateChainDER)

        let report = try SNPReport(parsing: evidence.blob)
        #expect(report.version == 3)
        #expect(report.measurement == sim.measurement)
        #expect(report.policy.contains(.reservedMustBeOne) && !report.policy.isDebug)
        #expect(report.signingKey == .vcek && report.signatureAlgorithm == 1)
        #expect(report.reportedTCB == platform.tcb && report.chipID == platform.chipID)
        #expect(report.reportIDMA.allSatisfy { $0 == 0xFF })
        #expect(report.isSignatureValid(for: try ECDSAPublicKey(spkiDER: platform.vcek.subjectPublicKeyInfoDER)))
        let second = try SNPReport(parsing: sim.evidence(reportData: report.reportData).blob)
        #expect(second.reportID != report.reportID)

        let policy = AttestationPolicy(
            allowSimulation: true, expectedMeasurements: [Self.hex(sim.measurement)],
            expectedManifestDigests: [Self.hex(digest)])
        let verified = try EvidenceVerifier(simulatedRoots: [platform.ark]).verify(
            evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke, policy: policy)
        #expect(verified.isSimulated)
        #expect(verified.measurement == sim.measurement)

        var refusing = policy
        refusing.allowSimulation = false
        #expect(throws: AttestationError.self) {
            try EvidenceVerifier(simulatedRoots: [platform.ark]).verify(
                evidence, nonce: nonce, manifestDigest: digest, hpkePublicKey: hpke, policy: refusing)
        }
    }

    @Test func reportDataMustBe64Bytes() throws {
        _ = try Fixture.platform()
        let sim = try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable("x"))
        for count in [0, 32, 63, 65] {
            let error = #expect(throws: PlatformError.self) { try sim.evidence(reportData: [UInt8](repeating: 1, count: count)) }
            #expect(error?.code == .invalidReportData)
        }
    }

    @Test func sealingKeyIsBoundToTheMeasurement() throws {
        let platform = try Fixture.platform()
        let a = try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable("runtime a"))
        let a2 = try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable("runtime a"))
        let b = try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable("runtime b"))
        let key = try a.sealingKey(purpose: "enclava/v1 image dek")
        #expect(try a2.sealingKey(purpose: "enclava/v1 image dek") == key)
        #expect(try b.sealingKey(purpose: "enclava/v1 image dek") != key)
        #expect(try platform.sealingKey(measurement: a.measurement, purpose: "enclava/v1 image dek") == key)
    }

    @Test func missingPlatformOrExecutableIsAClearError() throws {
        let error = #expect(throws: SimulatedPlatformError.self) {
            try SimPlatform(home: "/nonexistent-enclava-home", executablePath: "/proc/self/exe")
        }
        #expect(error?.message.contains("enclava sim init") == true)
        _ = try Fixture.platform()
        let missing = #expect(throws: PlatformError.self) {
            try SimPlatform(home: Fixture.home, executablePath: Fixture.home + "/no-such-runtime")
        }
        #expect(missing?.code == .measurementFailed)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
