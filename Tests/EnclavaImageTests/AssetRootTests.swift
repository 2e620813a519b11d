import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

/// `enclava package --asset-root DIR`: asset paths are relative to DIR instead of the manifest's folder,
/// and must stay inside it; the image's identity does not depend on where the files were.
@Suite struct AssetRootTests {
    /// A manifest alone in one folder and the fixture's assets in another.
    struct Split {
        let assets: PackagingFixture
        let manifestFolder: TemporaryFolder
        var manifestPath: String { manifestFolder.file("manifest.toml") }

        init(manifest: String = PackagingFixture.manifest) throws {
            assets = try PackagingFixture()
            manifestFolder = try TemporaryFolder()
            try manifestFolder.write("manifest.toml", manifest)
        }

        func package(assetRoot: String?, wrapping: KeyWrappingRequest? = nil) throws -> ImageSummary {
            try ImagePackager.package(
                manifestPath: manifestPath, signer: assets.signer, outputPath: manifestFolder.file("out.eimg"),
                wrapping: wrapping ?? .sealedForSim(sealingKey: PackagingFixture.sealingKey, measurement: PackagingFixture.measurement),
                assetRoot: assetRoot, progress: nil)
        }
    }

    @Test func assetsUnderTheRootPackageToTheSameDigest() throws {
        let split = try Split()
        let summary = try split.package(assetRoot: split.assets.folder.path)
        let (nextToManifest, _) = try split.assets.packageSealed()
        #expect(summary.manifestDigest == nextToManifest.manifestDigest)
        let measured = try ManifestDigest.measure(manifestPath: split.manifestPath, assetRoot: split.assets.folder.path + "/")
        #expect(measured.digest == summary.manifestDigest)
        let image = try EnclaveImage.open(path: split.manifestFolder.file("out.eimg"))
        let model = try image.decryptAsset(try #require(image.asset(role: .model)), dek: try PackagingFixture.dek(of: image))
        #expect(model == SecureBytes(split.assets.model))
    }

    @Test func withoutTheRootTheAssetsAreMissing() throws {
        let split = try Split()
        let error = try #require(throws: ManifestError.self) { try split.package(assetRoot: nil) }
        #expect(error.code == .invalidPath)
        #expect(error.line == 6)
        #expect(try split.manifestFolder.contents() == ["manifest.toml"])
    }

    @Test func symbolicLinkOutOfTheRootIsRefused() throws {
        let split = try Split()
        let outside = try TemporaryFolder()
        try outside.write("model.onnx", patternBytes(count: 100, seed: 5))
        try FileManager.default.removeItem(atPath: split.assets.folder.file("model.onnx"))
        try FileManager.default.createSymbolicLink(atPath: split.assets.folder.file("model.onnx"),
                                                   withDestinationPath: outside.file("model.onnx"))
        let error = try #require(throws: ManifestError.self) { try split.package(assetRoot: split.assets.folder.path) }
        #expect(error.code == .invalidPath)
        #expect(error.line == 6)
        #expect(error.message.contains("outside the asset root"), "\(error)")
        #expect(try split.manifestFolder.contents() == ["manifest.toml"])
    }

    @Test func dotDotPathsAreRefusedEvenWithARoot() throws {
        let split = try Split(manifest: replacingLine(6, with: "file = \"../model.onnx\"", in: PackagingFixture.manifest))
        let error = try #require(throws: ManifestError.self) { try split.package(assetRoot: split.assets.folder.path) }
        #expect(error.code == .invalidPath)
        #expect(error.line == 6)
    }

    @Test func missingOrEmptyRootIsReported() throws {
        let split = try Split()
        let missing = try #require(throws: ManifestError.self) {
            try split.package(assetRoot: split.assets.folder.path + "/nowhere")
        }
        #expect(missing.code == .invalidPath)
        #expect(missing.message.contains("asset root"), "\(missing)")
        let empty = try #require(throws: ManifestError.self) { try split.package(assetRoot: "") }
        #expect(empty.code == .invalidPath)
    }

    @Test func checkFailureLeavesNothingBehind() throws {
        let split = try Split()
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try ImagePackager.package(
                manifestPath: split.manifestPath, signer: split.assets.signer, outputPath: split.manifestFolder.file("out.eimg"),
                wrapping: .owner(keyOutputPath: split.manifestFolder.file("out.key")), assetRoot: split.assets.folder.path,
                checkAssets: { measured in
                    #expect(measured.assets.map(\.role) == [.model, .tokenizer])
                    throw Refused()
                }, progress: nil)
        }
        #expect(try split.manifestFolder.contents() == ["manifest.toml"])
    }
}
