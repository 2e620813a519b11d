import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

/// Ciphertext hashes in the signed header (`enclava inspect --verify`) and the recorded model interface.
@Suite struct PayloadVerificationTests {
    static let interface = ImageModelInterface(
        inputs: [.init(name: "features", dtype: "float32", dims: ["N", "8"])],
        outputs: [.init(name: "probabilities", dtype: "float32", dims: ["N", "2"]), .init(name: "raw", dtype: "int64", dims: nil)])

    func package(_ fixture: PackagingFixture, interface: ImageModelInterface? = interface) throws -> EnclaveImage {
        let path = fixture.folder.file("out.eimg")
        _ = try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer, outputPath: path,
                                      wrapping: .sealedForSim(sealingKey: PackagingFixture.sealingKey,
                                                              measurement: PackagingFixture.measurement),
                                      describeModel: { _ in interface })
        return try EnclaveImage.open(path: path)
    }

    @Test func theHeaderCarriesEachAssetsCiphertextHashAndTheModelInterface() throws {
        let fixture = try PackagingFixture()
        let image = try package(fixture)
        let bytes = try fixture.folder.read("out.eimg")
        for asset in image.assets {
            let start = Int(image.dataOffset + asset.ciphertextOffset)
            #expect(asset.ciphertextSHA256 == SHA2.sha256(Array(bytes[start..<(start + Int(asset.ciphertextSize))])))
        }
        try image.verifyPayload()
        #expect(image.modelInterface == Self.interface)
        let inspection = image.inspect()
        #expect(inspection.model == Self.interface)
        #expect(inspection.text.contains("model input      features: float32 [N, 8]"))
        #expect(inspection.text.contains("model output     raw: int64 [?]"))
        // The plaintext still decrypts: two passes of the cipher give the same bytes.
        let dek = try PackagingFixture.dek(of: image)
        for asset in image.assets { _ = try image.decryptAsset(asset, dek: dek) }
    }

    /// A flipped byte anywhere in an asset's ciphertext is found without the key, naming the asset; the header
    /// (and so `EnclaveImage.open`) is untouched by it.
    @Test func aDamagedPayloadIsFoundWithoutTheKey() throws {
        let fixture = try PackagingFixture()
        let image = try package(fixture)
        let original = try fixture.folder.read("out.eimg")
        for asset in image.assets {
            let start = Int(image.dataOffset + asset.ciphertextOffset)
            for offset in [start, start + Int(asset.ciphertextSize) / 2, start + Int(asset.ciphertextSize) - 1] {
                var damaged = original
                damaged[offset] ^= 0x40
                try fixture.folder.write("damaged.eimg", damaged)
                let reopened = try EnclaveImage.open(path: fixture.folder.file("damaged.eimg"))
                let error = #expect(throws: ImageError.self) { try reopened.verifyPayload() }
                #expect(error?.code == .assetCorrupt)
                #expect(error?.message.contains("the encrypted \(asset.name)") == true, "\(error?.message ?? "")")
            }
        }
    }

    /// An image whose header has no ciphertext hashes (packaged before they were recorded) still opens, says so
    /// in `inspect`, and `verifyPayload` refuses rather than passing it unchecked.
    @Test func anImageWithoutHashesCannotBeVerifiedAndSaysWhy() throws {
        let fixture = try PackagingFixture()
        let image = try package(fixture, interface: nil)
        let measured = try ManifestDigest.measure(manifestPath: fixture.manifestPath)
        let bare = image.assets.map {
            ImageAsset(name: $0.name, role: $0.role, plaintextSize: $0.plaintextSize, plaintextSHA256: $0.plaintextSHA256,
                       chunkSize: $0.chunkSize, ciphertextOffset: $0.ciphertextOffset, ciphertextSize: $0.ciphertextSize)
        }
        let envelope = try ImagePackager.signedEnvelope(measured: measured, assets: bare, wrapping: image.keyWrappings[0],
                                                        signer: fixture.signer)
        let bytes = try fixture.folder.read("out.eimg")
        let old = ImageFormat.magic + bigEndian(UInt32(envelope.count)) + envelope + Array(bytes[Int(image.dataOffset)...])
        try fixture.folder.write("old.eimg", old)
        let opened = try EnclaveImage.open(path: fixture.folder.file("old.eimg"))
        #expect(opened.modelInterface == nil)
        #expect(opened.inspect().text.contains("not recorded (packaged by an older enclava)"))
        let error = #expect(throws: ImageError.self) { try opened.verifyPayload() }
        #expect(error?.code == .unsupportedVersion && error?.message.contains("repackage") == true)
    }

    /// The interface is read before anything is trusted: a header signed with an oversized one is refused.
    @Test func anOversizedModelInterfaceIsRefused() throws {
        let fixture = try PackagingFixture()
        let image = try package(fixture)
        let measured = try ManifestDigest.measure(manifestPath: fixture.manifestPath)
        let huge = ImageModelInterface(inputs: [.init(name: "x", dtype: "float32", dims: Array(repeating: "1", count: 33))],
                                       outputs: [])
        let envelope = try ImagePackager.signedEnvelope(measured: measured, assets: image.assets, wrapping: image.keyWrappings[0],
                                                        modelInterface: huge, signer: fixture.signer)
        let bytes = try fixture.folder.read("out.eimg")
        try fixture.folder.write("huge.eimg", ImageFormat.magic + bigEndian(UInt32(envelope.count)) + envelope
                                    + Array(bytes[Int(image.dataOffset)...]))
        let error = #expect(throws: ImageError.self) { try EnclaveImage.open(path: fixture.folder.file("huge.eimg")) }
        #expect(error?.code == .corruptHeader && error?.message.contains("model interface") == true)
    }
}
