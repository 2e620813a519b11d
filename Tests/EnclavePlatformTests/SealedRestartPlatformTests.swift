import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclaveSealing
import Foundation
import Testing
@testable import EnclavePlatform

/// Sealed restart on the simulator and TDX, with real packaged images, and the table `enclava inspect` shows
/// checked against what each backend does.
@Suite struct SealedRestartPlatformTests {
    static let dek = SecureBytes.random(count: 32)

    /// A tiny image (`release = "owner"`, the given `seal_to` line) packaged into a fresh folder.
    static func image(_ name: String, sealTo: String? = nil, in folder: URL) throws -> EnclaveImage {
        let dir = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("not really onnx \(name)".utf8).write(to: dir.appendingPathComponent("model.onnx"))
        let manifest = "[image]\nname = \"\(name)\"\nversion = \"1\"\n\n[model]\nfile = \"model.onnx\"\n\n[keys]\nrelease = \"owner\"\n"
            + (sealTo.map { "seal_to = \"\($0)\"\n" } ?? "")
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("manifest.toml"))
        let output = dir.appendingPathComponent("image.eimg").path
        _ = try ImagePackager.package(manifestPath: dir.appendingPathComponent("manifest.toml").path,
                                      signer: try SignerKey.generate(), outputPath: output,
                                      wrapping: .owner(keyOutputPath: dir.appendingPathComponent("owner.key").path))
        return try EnclaveImage.open(path: output)
    }

    static func sim(_ executable: String) throws -> SimPlatform {
        _ = try Fixture.platform()
        return try SimPlatform(home: Fixture.home, executablePath: try Fixture.executable(executable))
    }

    @Test func aSimImageRestartsFromItsStateAndARebuiltRuntimeDoesNot() throws {
        let folder = URL(fileURLWithPath: try PlatformTestData.temporaryDirectory("sealed-restart"))
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = try Self.image("restart-a", in: folder)
        let runtime = try Self.sim("runtime build 1")
        let blob = try SealedRestart.makeState(dek: Self.dek, image: image, platform: runtime)
        #expect(try SealedRestart.openState(blob: blob, image: image, platform: runtime).get() == Self.dek)
        #expect(try SealedRestart.openState(blob: blob, image: image, platform: Self.sim("runtime build 1")).get() == Self.dek)

        let rebuilt = try Self.sim("runtime build 2")
        #expect(SealedRestart.openState(blob: blob, image: image, platform: rebuilt).failureCode == .otherEnclave)
        #expect(try rebuilt.sealedStateKey(policy: .measurement).key != runtime.sealedStateKey(policy: .measurement).key)
        let other = try Self.image("restart-b", in: folder)
        #expect(SealedRestart.openState(blob: blob, image: other, platform: runtime).failureCode == .otherImage)
    }

    /// The two call points of the runtime, in order, across a restart: a first start finds no state and the key
    /// is released (here: the owner's key file); the state is saved; the restarted runtime (a new platform object,
    /// same build) opens it, and the key decrypts the image's model.
    @Test func aRestartedSimRuntimeDecryptsTheModelWithTheKeyFromItsState() throws {
        let folder = URL(fileURLWithPath: try PlatformTestData.temporaryDirectory("sealed-restart"))
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = try Self.image("restart-model", in: folder)
        let statePath = folder.path + "/" + SealedStateFile.fileName(manifestDigest: image.manifestDigest)
        let first = try Self.sim("runtime build 7")
        guard case .absent = SealedRestart.openState(atPath: statePath, image: image, platform: first) else {
            Issue.record("a first start has no state")
            return
        }
        let released = try OwnerKeyFile.load(path: folder.appendingPathComponent("restart-model/owner.key").path)
        try SealedRestart.saveState(dek: released, atPath: statePath, image: image, platform: first)

        let restarted = SealedRestart.openState(atPath: statePath, image: image, platform: try Self.sim("runtime build 7"))
        let dek = try #require(restarted.dek, "\(restarted.logLine)")
        let model = try image.decryptAsset(try #require(image.asset(role: .model)), dek: dek)
        #expect(model.unsafeCopyToArray() == Array("not really onnx restart-model".utf8))
        // A rebuilt runtime on the same machine falls back to a release.
        let rebuilt = SealedRestart.openState(atPath: statePath, image: image, platform: try Self.sim("runtime build 8"))
        #expect(rebuilt.reason?.code == .otherEnclave && rebuilt.logLine.contains("falling back to a key release"))
    }

    @Test func sealToSignerIsRefusedOnTheSimulatorAtStateCreation() throws {
        let folder = URL(fileURLWithPath: try PlatformTestData.temporaryDirectory("sealed-restart"))
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = try Self.image("signer-image", sealTo: "signer", in: folder)
        let error = #expect(throws: SealedStateError.self) {
            try SealedRestart.makeState(dek: Self.dek, image: image, platform: try Self.sim("runtime"))
        }
        #expect(error?.code == .policyUnsupported && error?.message.contains("seal_to = \"signer\"") == true)
    }

    @Test func tdxHasNoSealingKeyAndSaysEveryStartIsARelease() throws {
        let (kernel, _) = try TDXPlatformTests.kernel(quote: try PlatformTestData.tdxQuoteV4())
        for secret in [nil, SecureBytes.random(count: 32)] {
            let tdx = try TDXPlatform(configFS: kernel.tsm, sealingSecret: secret)
            let error = #expect(throws: SealedStateError.self) {
                try SealedRestart.makeState(dek: Self.dek, manifestDigest: [UInt8](repeating: 1, count: 48),
                                            sealTo: .measurement, platform: tdx)
            }
            #expect(error?.code == .noSealingKey && error?.message.contains("TDX has no sealing key; every start is a release") == true)
        }
        let folder = URL(fileURLWithPath: try PlatformTestData.temporaryDirectory("sealed-restart"))
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.path + "/state.sealed"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let tdx = try TDXPlatform(configFS: kernel.tsm, sealingSecret: nil)
        let opening = SealedRestart.openState(atPath: path, manifestDigest: [UInt8](repeating: 1, count: 48),
                                              sealTo: .measurement, platform: tdx)
        #expect(opening.reason?.code == .noSealingKey && opening.logLine.hasPrefix("NO_SEALING_KEY: TDX has no sealing key"))
    }

    /// `enclava inspect` and the README print ``SealedRestartSupport``; each backend's derivation must agree with it.
    @Test func theInspectTableMatchesWhatEachBackendDoes() throws {
        let device = FakeSEVGuestDevice()
        let (gramine, sgx) = try SealedStateSGXTests.enclave(enclaveKey: SecureRandom.bytes(count: 16),
                                                             signerKey: SecureRandom.bytes(count: 16))
        let (kernel, _) = try TDXPlatformTests.kernel(quote: try PlatformTestData.tdxQuoteV4())
        let platforms: [String: any TEEPlatform] = [
            "sim": try Self.sim("runtime"), "sev-snp": try SealedStateSNPTests.guest(device), "sgx": sgx,
            "tdx": try TDXPlatform(configFS: kernel.tsm, sealingSecret: nil),
        ]
        #expect(Set(platforms.keys) == Set(SealedRestartSupport.backends))
        for (name, platform) in platforms {
            #expect(platform.backend == name)
            for sealTo in Manifest.SealTo.allCases {
                let expected = try #require(SealedRestartSupport.answer(backend: name, sealTo: sealTo))
                let actual: SealedStateError.Code?
                do {
                    _ = try platform.sealedStateKey(policy: SealingPolicy(sealTo))
                    actual = nil
                } catch let error as SealedStateError {
                    actual = error.code
                }
                switch expected {
                case .available: #expect(actual == nil, "\(name) \(sealTo)")
                case .policyUnsupported: #expect(actual == .policyUnsupported, "\(name) \(sealTo)")
                case .noSealingKey: #expect(actual == .noSealingKey, "\(name) \(sealTo)")
                }
            }
        }
        withExtendedLifetime(gramine) {}
    }
}

extension Result where Failure == SealedStateError {
    /// The error's code, nil on success.
    var failureCode: SealedStateError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
