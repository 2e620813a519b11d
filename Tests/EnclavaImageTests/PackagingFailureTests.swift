import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

/// Packaging never leaves a partial output or a temporary file behind.
@Suite struct PackagingFailureTests {
    @Test func missingAssetLeavesNothingBehind() throws {
        let fixture = try PackagingFixture()
        try FileManager.default.removeItem(atPath: fixture.folder.file("model.onnx"))
        let error = try #require(throws: ManifestError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("out.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("out.key")), progress: nil)
        }
        #expect(error.code == .invalidPath)
        #expect(error.line == 6)
        #expect(try fixture.folder.contents() == ["manifest.toml", "vocab.txt"])
    }

    @Test func malformedManifestIsReportedWithItsLine() throws {
        let fixture = try PackagingFixture(manifest: replacingLine(14, with: "threads = 0", in: PackagingFixture.manifest))
        let error = try #require(throws: ManifestError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("out.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("out.key")), progress: nil)
        }
        #expect(error.description == "\(fixture.manifestPath):14: `threads` must be 1…64, got 0")
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "vocab.txt"])
    }

    @Test func assetChangingDuringEncryptionLeavesNothingBehind() throws {
        let fixture = try PackagingFixture()
        let error = try #require(throws: ImageError.self) {
            try ImagePackager.package(
                manifestPath: fixture.manifestPath, signer: fixture.signer, outputPath: fixture.folder.file("out.eimg"),
                wrapping: .owner(keyOutputPath: fixture.folder.file("out.key")),
                progress: { message in
                    // The temporary image exists by now; change the vocabulary under the packager's feet.
                    if message.hasPrefix("encrypting vocab.txt (") {
                        var changed = fixture.vocab
                        changed[10] ^= 1
                        try? fixture.folder.write("vocab.txt", changed)
                    }
                })
        }
        #expect(error.message.contains("changed while it was being packaged"))
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "vocab.txt"])
    }

    @Test func failedRepackagingKeepsThePreviousImage() throws {
        let fixture = try PackagingFixture()
        let (first, _) = try fixture.packageSealed()
        let before = try fixture.folder.read("out.eimg")
        let error = #expect(throws: ImageError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("out.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("no/such/folder/out.key")), progress: nil)
        }
        #expect(error?.code == .outputUnwritable, "\(String(describing: error))")
        #expect(try fixture.folder.read("out.eimg") == before)
        #expect(try EnclaveImage.open(path: first.outputPath).manifestDigest == first.manifestDigest)
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "out.eimg", "vocab.txt"])
    }

    @Test func unwritableOutputFolderIsReported() throws {
        let fixture = try PackagingFixture()
        let error = try #require(throws: ImageError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("missing/out.eimg"),
                                      wrapping: .sealedForSim(sealingKey: PackagingFixture.sealingKey, measurement: []),
                                      progress: nil)
        }
        #expect(error.code == .outputUnwritable)
        #expect(!error.description.contains("\n"))
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "vocab.txt"])
    }

    @Test func wrongCurveSignerIsRefused() throws {
        let fixture = try PackagingFixture()
        let p256 = try ECDSAPrivateKey.generate(curve: .p256)
        let error = try #require(throws: ImageError.self) {
            try ImagePackager.package(manifestPath: fixture.manifestPath, signer: p256, outputPath: fixture.folder.file("o.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("o.key")), progress: nil)
        }
        #expect(error.code == .invalidSignerKey)
        #expect(try fixture.folder.contents() == ["manifest.toml", "model.onnx", "vocab.txt"])
    }
}
