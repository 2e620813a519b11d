import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

@Suite struct ImageRoundTripTests {
    @Test func sealedImageRoundTrips() throws {
        let fixture = try PackagingFixture()
        var messages: [String] = []
        let summary = try ImagePackager.package(
            manifestPath: fixture.manifestPath, signer: fixture.signer, outputPath: fixture.folder.file("out.eimg"),
            wrapping: .sealedForSim(sealingKey: PackagingFixture.sealingKey, measurement: PackagingFixture.measurement),
            progress: { messages.append($0) })
        #expect(messages.contains { $0.hasPrefix("encrypting model.onnx") })
        #expect(messages.last == "wrote \(fixture.folder.file("out.eimg"))")

        let image = try EnclaveImage.open(path: summary.outputPath)
        #expect(image.manifestDigest == summary.manifestDigest)
        #expect(image.manifestDigest == (try ManifestDigest.measure(manifestPath: fixture.manifestPath)).digest)
        #expect(image.manifest.image.name == "test-embeddings")
        #expect(image.manifestText == PackagingFixture.manifest)
        #expect(image.fileSize == summary.imageSize)
        #expect(image.assets == summary.assets)
        #expect(image.assets.map(\.chunkCount) == [3, 2])
        #expect(image.signerPublicKey == fixture.signer.publicKey)
        try image.verifySigner(expected: fixture.signer.publicKey)

        guard case .sealed(let sealed) = image.keyWrappings.first else { Issue.record("not sealed"); return }
        #expect(sealed.measurement == PackagingFixture.measurement)
        #expect(sealed.purpose == KeyWrap.sealingPurpose)
        #expect(sealed.aad == image.manifestDigest + PackagingFixture.measurement)

        let dek = try PackagingFixture.dek(of: image)
        let model = try image.decryptAsset(try #require(image.asset(role: .model)), dek: dek)
        let vocab = try image.decryptAsset(try #require(image.asset(role: .tokenizer)), dek: dek)
        #expect(model.unsafeCopyToArray() == fixture.model)
        #expect(vocab.unsafeCopyToArray() == fixture.vocab)
        // No plaintext in the file: the model's first 64 bytes appear nowhere.
        let bytes = try fixture.folder.read("out.eimg")
        #expect(!contains(bytes, Array(fixture.model.prefix(64))))
        #expect(!contains(bytes, Array(fixture.vocab.prefix(64))))
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "out.eimg", "vocab.txt"])
    }

    @Test func ownerKeyedImageRoundTrips() throws {
        let fixture = try PackagingFixture()
        let summary = try ImagePackager.package(
            manifestPath: fixture.manifestPath, signer: fixture.signer, outputPath: fixture.folder.file("out.eimg"),
            wrapping: .owner(keyOutputPath: fixture.folder.file("out.key")), progress: nil)
        #expect(summary.ownerKeyPath == fixture.folder.file("out.key"))
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.folder.file("out.key"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let image = try EnclaveImage.open(path: summary.outputPath)
        guard case .owner(let keyID) = image.keyWrappings.first else { Issue.record("not owner"); return }
        let dek = try OwnerKeyFile.load(path: fixture.folder.file("out.key"))
        #expect(keyID == (try KeyWrap.ownerKeyID(for: dek)))
        try image.checkOwnerKey(dek)
        #expect(try image.decryptAsset(image.assets[0], dek: dek).unsafeCopyToArray() == fixture.model)

        let other = KeyWrap.generateDEK()
        #expect(throws: ImageError.self) { try image.checkOwnerKey(other) }
        #expect(throws: ImageError.self) {
            try KeyWrap.unsealDEK(image.keyWrappings[0], sealingKey: PackagingFixture.sealingKey, manifestDigest: image.manifestDigest)
        }
        // An owner key file is recognised as such.
        try fixture.folder.write("garbage.key", patternBytes(count: OwnerKeyFile.byteCount, seed: 5))
        let error = try #require(throws: ImageError.self) { try OwnerKeyFile.load(path: fixture.folder.file("garbage.key")) }
        #expect(error.code == .wrongKey)
    }

    @Test func realTinyBertModelRoundTrips() throws {
        let source = SharedData.tinyBertModel
        try #require(FileManager.default.fileExists(atPath: source), "shared test data missing at \(source)")
        let folder = try TemporaryFolder()
        let model = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        try folder.write("model.onnx", model)
        try folder.write("manifest.toml", "[image]\nname = \"tiny-bert\"\nversion = \"0.1.0\"\n[model]\nfile = \"model.onnx\"\n")
        let signer = try SignerKey.generate()
        let summary = try ImagePackager.package(manifestPath: folder.file("manifest.toml"), signer: signer,
                                                outputPath: folder.file("tiny.eimg"),
                                                wrapping: .owner(keyOutputPath: folder.file("tiny.key")), progress: nil)
        #expect(summary.assets.count == 1)
        #expect(summary.assets[0].plaintextSHA256 == SHA2.sha256(model))
        let image = try EnclaveImage.open(path: folder.file("tiny.eimg"))
        let dek = try OwnerKeyFile.load(path: folder.file("tiny.key"))
        // Decrypt into a caller-owned buffer, as the runtime does with sealed memory.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: model.count, alignment: 16)
        defer { buffer.deallocate() }
        try image.decryptAsset(image.assets[0], dek: dek, into: buffer)
        #expect(Array(buffer) == model)
    }

    @Test func emptyAssetIsStillAuthenticated() throws {
        let folder = try TemporaryFolder()
        try folder.write("model.onnx", [])
        try folder.write("manifest.toml", "[image]\nname = \"empty\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n")
        let summary = try ImagePackager.package(manifestPath: folder.file("manifest.toml"), signer: try SignerKey.generate(),
                                                outputPath: folder.file("e.eimg"),
                                                wrapping: .owner(keyOutputPath: folder.file("e.key")), progress: nil)
        #expect(summary.assets[0].chunkCount == 1)
        #expect(summary.assets[0].ciphertextSize == 16)
        let image = try EnclaveImage.open(path: folder.file("e.eimg"))
        #expect(try image.decryptAsset(image.assets[0], dek: try OwnerKeyFile.load(path: folder.file("e.key"))).count == 0)
        #expect(throws: ImageError.self) { try image.decryptAsset(image.assets[0], dek: KeyWrap.generateDEK()) }
    }

    @Test func inspectionDescribesTheImageWithoutSecrets() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let info = image.inspect()
        #expect(info.name == "test-embeddings")
        #expect(info.manifestDigest.count == 96)
        #expect(info.signerFingerprint == SignerKey.fingerprint(of: fixture.signer.publicKey))
        #expect(info.assets.map(\.role) == ["model", "tokenizer"])
        #expect(info.wrappings.first?.kind == "sealed")
        let json = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        #expect(json.contains("\"manifest_digest\""))
        let dekHex = try PackagingFixture.dek(of: image).unsafeCopyToArray().map { String(format: "%02x", $0) }.joined()
        #expect(!json.contains(dekHex))
        #expect(!info.text.contains(dekHex))
        #expect(info.text.contains("test-embeddings 1.0.0"))
        #expect(try JSONDecoder().decode(ImageInspection.self, from: Data(json.utf8)) == info)
    }

    @Test func shortOutputBufferIsRefusedBeforeItIsTouched() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let dek = try PackagingFixture.dek(of: image)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: PackagingFixture.modelSize - 1, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
        let error = try #require(throws: ImageError.self) { try image.decryptAsset(image.assets[0], dek: dek, into: buffer) }
        #expect(error.code == .invalidArgument)
        #expect(buffer.allSatisfy { $0 == 0xA5 })
    }

    @Test func existingOwnerKeyIsNeverReplaced() throws {
        let fixture = try PackagingFixture()
        try fixture.folder.write("out.key", [1, 2, 3])
        let error = try #require(throws: ImageError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("out.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("out.key")), progress: nil)
        }
        #expect(error.code == .outputUnwritable)
        #expect(try fixture.folder.read("out.key") == [1, 2, 3])
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "out.key", "vocab.txt"])
    }

    @Test func hostileEnvelopesNeverCrash() throws {
        let folder = try TemporaryFolder()
        var codes: Set<String> = []
        for seed in UInt64(1)...200 {
            let body = patternBytes(count: Int(seed % 64) * 7, seed: seed)
            let length = UInt32(truncatingIfNeeded: seed % 3 == 0 ? UInt64(body.count) : seed &* 0x9E37_79B9)
            try folder.write("h.eimg", ImageFormat.magic + bigEndian(length) + body)
            let error = try #require(throws: ImageError.self) { try EnclaveImage.open(path: folder.file("h.eimg")) }
            codes.insert(error.code.rawValue)
        }
        #expect(codes.isSubset(of: ["truncated", "corruptHeader", "signatureInvalid"]))
    }

    @Test func packagingRefusesToOverwriteItsInputs() throws {
        let fixture = try PackagingFixture()
        let error = try #require(throws: ImageError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("model.onnx"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("k")), progress: nil)
        }
        #expect(error.code == .invalidArgument)
        #expect(try fixture.folder.read("model.onnx") == fixture.model)
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var index = 0
    while index <= haystack.count - needle.count {
        if haystack[index] == first, Array(haystack[index..<(index + needle.count)]) == needle { return true }
        index += 1
    }
    return false
}
