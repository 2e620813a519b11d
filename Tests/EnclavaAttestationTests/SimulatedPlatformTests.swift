import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

@Suite struct SimulatedPlatformTests {
    @Test func filesArePrivateAndChainIsShapedLikeAMDs() throws {
        let platform = try SimFixture.platform()
        let directory = platform.directory
        let attributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        for file in ["ark.pem", "ask.pem", "vcek.pem", "vcek-key.pem", "platform-secret"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: SimFixture.home) == ["sim"])
        #expect(platform.ark.isSelfSigned)
        #expect(platform.ark.subjectCommonName == "ARK-Sim (Enclava simulated)")
        #expect(platform.vcek.subjectCommonName == "SEV-VCEK (Enclava simulated)")
        #expect(platform.vcek.subject.contains("Enclava simulation"))
        #expect(platform.vcek.serialNumber.allSatisfy { $0 == 0 })
        let rsassaPSS = "1.2.840.113549.1.1.10"
        #expect([platform.ark, platform.ask, platform.vcek].allSatisfy { $0.signatureAlgorithmOID == rsassaPSS })
        #expect(try RSAPublicKey(spkiDER: platform.ark.subjectPublicKeyInfoDER).bitCount == 4096)
        #expect(try RSAPublicKey(spkiDER: platform.ask.subjectPublicKeyInfoDER).bitCount == 4096)
        #expect(try ECDSAPublicKey(spkiDER: platform.vcek.subjectPublicKeyInfoDER).curve == .p384)
        try CertificateChain.verify(
            leaf: platform.vcek, intermediates: [platform.ask], trustAnchors: [platform.ark], at: Date())
        let extensions = VCEKExtensions(platform.vcek)
        #expect(extensions.productName == "Milan-Sim")
        #expect(extensions.hwID == platform.chipID && platform.chipID.count == 64)
        #expect(extensions.tcb == SimulatedPlatform.simulatedTCB)
        #expect(try platform.vcekSigningKey().publicKey.spkiDER == platform.vcek.subjectPublicKeyInfoDER)
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        _ = try SimFixture.platform()
        let error = #expect(throws: SimulatedPlatformError.self) {
            try SimulatedPlatform.initialize(home: SimFixture.home, force: false)
        }
        #expect(error?.code == .alreadyInitialized)
        #expect(try SimulatedPlatform.load(home: SimFixture.home).ark == (try SimFixture.platform().ark))
    }

    @Test func missingPlatformSaysToRunSimInit() throws {
        let home = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedPlatform.load(home: home) }
        #expect(error?.code == .notInitialized)
        #expect(error?.message.contains("enclava sim init") == true)
        #expect(error?.message.contains(home) == true)
    }

    @Test func sealingKeysAreBoundToMeasurementAndPurpose() throws {
        let platform = try SimFixture.platform()
        let m1 = SHA2.sha384([1])
        let m2 = SHA2.sha384([2])
        let key = try platform.sealingKey(measurement: m1, purpose: "enclava/v1 image dek")
        #expect(key.count == 32)
        #expect(try platform.sealingKey(measurement: m1, purpose: "enclava/v1 image dek") == key)
        #expect(try platform.sealingKey(measurement: m2, purpose: "enclava/v1 image dek") != key)
        #expect(try platform.sealingKey(measurement: m1, purpose: "other") != key)
        // The derivation is the documented one.
        let secret = try SimulatedPlatform.readSecret(platform.directory + "/platform-secret", maxBytes: 64)
        let expected = try HKDF.deriveKey(
            .sha384, ikm: secret, salt: Array("enclava-sim-sealing-v1".utf8),
            info: Array("enclava/v1 image dek".utf8) + m1, length: 32)
        #expect(key == expected)
        #expect(throws: SimulatedPlatformError.self) { try platform.sealingKey(measurement: [1, 2], purpose: "x") }
        #expect(throws: SimulatedPlatformError.self) { try platform.sealingKey(measurement: m1, purpose: "") }
    }

    @Test func insecurePermissionsAreRefused() throws {
        let home = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let source = try SimFixture.platform().directory
        try FileManager.default.copyItem(atPath: source, toPath: home + "/sim")
        #expect(chmod(home + "/sim", 0o700) == 0)
        for file in ["ark.pem", "ask.pem", "vcek.pem", "vcek-key.pem"] {
            #expect(chmod(home + "/sim/" + file, 0o600) == 0)
        }
        #expect(try SimulatedPlatform.load(home: home).vcek == (try SimFixture.platform().vcek))
        #expect(chmod(home + "/sim/platform-secret", 0o644) == 0)
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedPlatform.load(home: home) }
        #expect(error?.code == .insecurePermissions)
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test func defaultHomeFollowsTheEnvironment() {
        let home = SimulatedPlatform.defaultHome()
        if let value = ProcessInfo.processInfo.environment["ENCLAVA_HOME"], !value.isEmpty {
            #expect(home == value)
        } else {
            #expect(home.hasSuffix("/.enclava"))
        }
    }
}

@Suite struct SimulatedPlatformWriteTests {
    /// The fixture's files, with a chosen platform secret.
    func files(secret: SecureBytes) throws -> [(String, SecureBytes)] {
        let source = try SimFixture.platform().directory
        return try ["ark.pem", "ask.pem", "vcek.pem", "vcek-key.pem"].map { name in
            (name, SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: source + "/" + name)))))
        } + [("platform-secret", secret)]
    }

    @Test func aFailedWriteLeavesNothingBehind() throws {
        let home = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        var files = try files(secret: .random(count: 32))
        files.insert(("no-such-folder/ask.pem", SecureBytes([1, 2, 3])), at: 2)
        let error = #expect(throws: SimulatedPlatformError.self) {
            try SimulatedPlatform.write(files: files, home: home, force: false)
        }
        #expect(error?.code == .writeFailed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: home).isEmpty)
    }

    @Test func forceReplacesTheWholePlatformAndNothingElse() throws {
        let home = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let measurement = SHA2.sha384([7])
        try SimulatedPlatform.write(files: files(secret: .random(count: 32)), home: home, force: false)
        let first = try SimulatedPlatform.load(home: home).sealingKey(measurement: measurement, purpose: "p")

        let refused = #expect(throws: SimulatedPlatformError.self) {
            try SimulatedPlatform.write(files: files(secret: .random(count: 32)), home: home, force: false)
        }
        #expect(refused?.code == .alreadyInitialized)
        #expect(try SimulatedPlatform.load(home: home).sealingKey(measurement: measurement, purpose: "p") == first)

        try SimulatedPlatform.write(files: files(secret: .random(count: 32)), home: home, force: true)
        #expect(try SimulatedPlatform.load(home: home).sealingKey(measurement: measurement, purpose: "p") != first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: home) == ["sim"])
    }

    @Test func aHomeThatIsAFileIsAWriteError() throws {
        let home = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = home + "/not-a-folder"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        let error = #expect(throws: SimulatedPlatformError.self) {
            try SimulatedPlatform.write(files: files(secret: .random(count: 32)), home: file, force: false)
        }
        #expect(error?.code == .writeFailed)
    }
}
