import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclavaTesting
import Foundation
@testable import KeyBroker

/// A packaged `release = "broker"` image with its owner key, a simulated platform (made once: RSA-4096 for the
/// simulated ARK takes seconds) and a policy that pins a stand-in runtime's measurement and the image's digest.
final class BrokerFixture: Sendable {
    static let shared: BrokerFixture = {
        do { return try BrokerFixture() } catch { fatalError("key broker fixture failed: \(error)") }
    }()

    let work: URL
    let home: String
    let imagePath: String
    let ownerKeyPath: String
    let otherImagePath: String
    let otherOwnerKeyPath: String
    /// The file whose SHA-384 is the simulated enclave's measurement (stands in for `enclava-runtime`).
    let runtimePath: String
    let policy: AttestationPolicy
    let policyJSON: String
    let platform: SimulatedPlatform

    private init() throws {
        work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-keybroker")
        home = work.appendingPathComponent("home").path
        platform = try SimulatedPlatform.initialize(home: home, force: false)
        runtimePath = work.appendingPathComponent("runtime.bin").path
        try Data("a stand-in enclava-runtime".utf8).write(to: URL(fileURLWithPath: runtimePath))
        let signer = try ECDSAPrivateKey.generate(curve: .p384)
        (imagePath, ownerKeyPath) = try Self.package(in: work, name: "broker-model", release: "broker", signer: signer)
        (otherImagePath, otherOwnerKeyPath) = try Self.package(in: work, name: "other-model", release: "broker", signer: signer)
        let image = try EnclaveImage.open(path: imagePath)
        var policy = AttestationPolicy(allowedPlatforms: [.sevSNP], allowSimulation: true,
                                       expectedMeasurements: [Hex.encode(try SHA2.hashFile(.sha384, path: runtimePath))],
                                       expectedManifestDigests: [Hex.encode(image.manifestDigest)])
        policy.simulatedRootFingerprints = []
        self.policy = policy
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        policyJSON = String(decoding: try encoder.encode(policy), as: UTF8.self)
    }

    static func package(in work: URL, name: String, release: String, signer: ECDSAPrivateKey) throws -> (String, String) {
        let folder = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ name.utf8.count) })
            .write(to: folder.appendingPathComponent("model.onnx"))
        let manifest = """
            [image]
            name = "\(name)"
            version = "1.0.0"

            [model]
            file = "model.onnx"
            format = "onnx"

            [pipeline]
            kind = "tensor"

            [keys]
            release = "\(release)"
            """
        let manifestPath = folder.appendingPathComponent("manifest.toml").path
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: manifestPath))
        let image = work.appendingPathComponent("\(name).eimg").path
        let key = work.appendingPathComponent("\(name).key").path
        _ = try ImagePackager.package(manifestPath: manifestPath, signer: signer, outputPath: image,
                                      wrapping: .owner(keyOutputPath: key))
        return (image, key)
    }

    /// A fresh, initialised store in its own folder (removed by the caller through `remove`).
    func makeStore() throws -> (KeyBrokerStore, URL) {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-keybroker-store")
        let store = try KeyBrokerStore.initialize(directory: folder.appendingPathComponent("store").path)
        return (store, folder)
    }

    /// A store holding the fixture image.
    func makeStoreWithImage() throws -> (KeyBrokerStore, URL) {
        let (store, folder) = try makeStore()
        try store.add(image: try EnclaveImage.open(path: imagePath), ownerKey: try OwnerKeyFile.load(path: ownerKeyPath),
                      policyJSON: policyJSON)
        return (store, folder)
    }

    /// The verifier the broker uses for this fixture: the simulated roots of its platform.
    var verifier: EvidenceVerifier { EvidenceVerifier(simulatedRoots: platform.simulatedRoots()) }
}
