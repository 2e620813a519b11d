import EnclavaCrypto
import Foundation
@testable import EnclavaImage

/// A temporary folder, removed when the value is released.
final class TemporaryFolder {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/enclava-image-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name)))) }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
}

/// The repository's shared test data: `../shared` next to the package root.
enum SharedData {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/EnclavaImageTests/Fixtures.swift → package root
        return url.deletingLastPathComponent().appendingPathComponent("shared").path
    }()

    static var tinyBertModel: String { root + "/models/tiny-bert/model.onnx" }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[index] = UInt8(truncatingIfNeeded: state)
    }
    return out
}

/// A folder with a sentence-embedding manifest, a model of 2.5 MiB (3 chunks, the last one short)
/// and a vocabulary of 1 MiB + 100 bytes (2 chunks).
struct PackagingFixture {
    static let modelSize = (5 << 20) / 2
    static let vocabSize = (1 << 20) + 100

    let folder: TemporaryFolder
    let manifestPath: String
    let model: [UInt8]
    let vocab: [UInt8]
    let signer: ECDSAPrivateKey

    static let manifest = """
    [image]
    name = "test-embeddings"
    version = "1.0.0"

    [model]
    file = "model.onnx"

    [pipeline]
    kind = "sentence-embedding"
    tokenizer = "vocab.txt"
    max_sequence_length = 128

    [runtime]
    threads = 2

    [keys]
    release = "sealed"
    """

    init(manifest: String = PackagingFixture.manifest) throws {
        folder = try TemporaryFolder()
        model = patternBytes(count: Self.modelSize, seed: 1)
        vocab = patternBytes(count: Self.vocabSize, seed: 2)
        try folder.write("model.onnx", model)
        try folder.write("vocab.txt", vocab)
        try folder.write("manifest.toml", manifest)
        manifestPath = folder.file("manifest.toml")
        signer = try SignerKey.generate()
    }

    static let sealingKey = SecureBytes(patternBytes(count: 32, seed: 99))
    static let measurement = SHA2.sha384(Array("enclava-runtime test build".utf8))

    /// Packages the fixture, sealed to the test sealing key and measurement.
    func packageSealed(to name: String = "out.eimg") throws -> (ImageSummary, EnclaveImage) {
        let summary = try ImagePackager.package(
            manifestPath: manifestPath, signer: signer, outputPath: folder.file(name),
            wrapping: .sealedForSim(sealingKey: Self.sealingKey, measurement: Self.measurement), progress: nil)
        return (summary, try EnclaveImage.open(path: folder.file(name)))
    }

    /// The DEK of a sealed image made by ``packageSealed(to:)``.
    static func dek(of image: EnclaveImage) throws -> SecureBytes {
        try KeyWrap.unsealDEK(image.keyWrappings[0], sealingKey: sealingKey, manifestDigest: image.manifestDigest,
                              measurement: measurement)
    }
}
