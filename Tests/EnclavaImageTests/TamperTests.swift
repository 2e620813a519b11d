import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

/// Systematic tampering: every header byte, every chunk, several truncation points, swapped chunks.
@Suite struct TamperTests {
    /// XORs one byte of the file in place, runs `body`, and restores the byte.
    func withFlippedByte<R>(_ path: String, at offset: UInt64, _ body: () throws -> R) throws -> R {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let original = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [original ^ 0x01])
        defer {
            try? handle.seek(toOffset: offset)
            try? handle.write(contentsOf: [original])
        }
        return try body()
    }

    func openError(_ path: String) -> ImageError? {
        do {
            _ = try EnclaveImage.open(path: path)
            return nil
        } catch let error as ImageError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func everyHeaderByteFlipIsDetected() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let path = image.path
        let bytes = try fixture.folder.read("out.eimg")
        let manifestStart = try #require(firstIndex(of: Array(PackagingFixture.manifest.utf8), in: bytes))
        let manifestRange = manifestStart..<(manifestStart + PackagingFixture.manifest.utf8.count)
        var codes: [ImageError.Code: Int] = [:]
        for offset in 0..<Int(image.dataOffset) {
            let error = try withFlippedByte(path, at: UInt64(offset)) { openError(path) }
            guard let error else {
                Issue.record("flipping byte \(offset) of the header was not detected")
                continue
            }
            codes[error.code, default: 0] += 1
            switch offset {
            case 0..<8:
                #expect(error.code == .badMagic, "byte \(offset): \(error)")
            case 8..<12:
                #expect([.corruptHeader, .truncated].contains(error.code), "byte \(offset): \(error)")
            case manifestRange:
                #expect(error.code == .signatureInvalid, "byte \(offset): \(error)")
            default:
                #expect([.signatureInvalid, .corruptHeader].contains(error.code), "byte \(offset): \(error)")
            }
            #expect(!error.description.contains("\n"))
        }
        #expect(codes[.signatureInvalid, default: 0] > manifestRange.count)
        // The untouched file still opens.
        #expect(openError(path) == nil)
    }

    @Test func everyChunkFlipFailsAuthentication() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let dek = try PackagingFixture.dek(of: image)
        for asset in image.assets {
            let stride = UInt64(asset.chunkSize + 16)
            for chunk in 0..<asset.chunkCount {
                let start = image.dataOffset + asset.ciphertextOffset + chunk * stride
                let end = min(start + stride, image.dataOffset + asset.ciphertextOffset + asset.ciphertextSize)
                for offset in [start, (start + end) / 2, end - 1] {   // first byte, middle, last tag byte
                    try withFlippedByte(image.path, at: offset) {
                        let reopened = try EnclaveImage.open(path: image.path)   // the header is intact
                        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(asset.plaintextSize), alignment: 16)
                        defer { buffer.deallocate() }
                        let error = try #require(throws: ImageError.self) {
                            try reopened.decryptAsset(asset, dek: dek, into: buffer)
                        }
                        #expect(error.code == .assetCorrupt, "\(asset.name) chunk \(chunk) offset \(offset): \(error)")
                        #expect(error.message.contains("chunk \(chunk) of \(asset.name)"))
                        // Nothing unauthenticated is left in the caller's buffer.
                        #expect(buffer.allSatisfy { $0 == 0 })
                        // The other asset is unaffected.
                        let other = try #require(reopened.assets.first { $0 != asset })
                        #expect(try reopened.decryptAsset(other, dek: dek).count == Int(other.plaintextSize))
                    }
                }
            }
        }
    }

    @Test func truncationAtAnyPointIsReported() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let bytes = try fixture.folder.read("out.eimg")
        let data = Int(image.dataOffset)
        let points = [0, 1, 7, 8, 11, 12, 13, data / 2, data - 1, data, data + 1, data + (1 << 20),
                      data + Int(image.assets[0].ciphertextSize), bytes.count - 17, bytes.count - 1]
        for point in points {
            try fixture.folder.write("cut.eimg", Array(bytes.prefix(point)))
            let error = openError(fixture.folder.file("cut.eimg"))
            #expect(error?.code == .truncated, "cut at \(point) of \(bytes.count): \(String(describing: error))")
        }
        try fixture.folder.write("long.eimg", bytes + [0])
        #expect(openError(fixture.folder.file("long.eimg"))?.code == .corruptHeader)
        try fixture.folder.write("other.eimg", Array("GGUF".utf8) + bytes.dropFirst(4))
        #expect(openError(fixture.folder.file("other.eimg"))?.code == .badMagic)
        #expect(openError(fixture.folder.file("missing.eimg"))?.code == .fileUnreadable)
        #expect(openError(fixture.folder.path)?.code == .fileUnreadable)
    }

    /// Swaps the ciphertext of two chunks of equal length and writes the result.
    func swapped(_ bytes: [UInt8], _ a: Int, _ b: Int, length: Int) -> [UInt8] {
        var out = bytes
        out.replaceSubrange(a..<(a + length), with: bytes[b..<(b + length)])
        out.replaceSubrange(b..<(b + length), with: bytes[a..<(a + length)])
        return out
    }

    @Test func swappedChunksFail() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let dek = try PackagingFixture.dek(of: image)
        let bytes = try fixture.folder.read("out.eimg")
        let stride = (1 << 20) + 16
        let model = Int(image.dataOffset + image.assets[0].ciphertextOffset)
        let vocab = Int(image.dataOffset + image.assets[1].ciphertextOffset)

        // Reordered within the model.
        try fixture.folder.write("reordered.eimg", swapped(bytes, model, model + stride, length: stride))
        let reordered = try EnclaveImage.open(path: fixture.folder.file("reordered.eimg"))
        let e1 = try #require(throws: ImageError.self) { try reordered.decryptAsset(reordered.assets[0], dek: dek) }
        #expect(e1.code == .assetCorrupt)

        // Moved between assets.
        try fixture.folder.write("moved.eimg", swapped(bytes, model, vocab, length: stride))
        let moved = try EnclaveImage.open(path: fixture.folder.file("moved.eimg"))
        for asset in moved.assets {
            let error = try #require(throws: ImageError.self) { try moved.decryptAsset(asset, dek: dek) }
            #expect(error.code == .assetCorrupt)
        }

        // A chunk dropped: the signed sizes no longer match the file.
        var dropped = bytes
        dropped.removeSubrange((model + stride)..<(model + 2 * stride))
        try fixture.folder.write("dropped.eimg", dropped)
        #expect(openError(fixture.folder.file("dropped.eimg"))?.code == .truncated)

        // Chunks from another image of the same manifest (different DEK) do not authenticate.
        let (_, second) = try fixture.packageSealed(to: "second.eimg")
        let secondBytes = try fixture.folder.read("second.eimg")
        var spliced = bytes
        let secondModel = Int(second.dataOffset + second.assets[0].ciphertextOffset)
        spliced.replaceSubrange(model..<(model + stride), with: secondBytes[secondModel..<(secondModel + stride)])
        try fixture.folder.write("spliced.eimg", spliced)
        let splicedImage = try EnclaveImage.open(path: fixture.folder.file("spliced.eimg"))
        #expect(throws: ImageError.self) { try splicedImage.decryptAsset(splicedImage.assets[0], dek: dek) }
    }

    @Test func wrongSignerAndWrongKeysAreNamed() throws {
        let fixture = try PackagingFixture()
        let (_, image) = try fixture.packageSealed()
        let other = try SignerKey.generate()
        let signerError = try #require(throws: ImageError.self) { try image.verifySigner(expected: other.publicKey) }
        #expect(signerError.code == .wrongSigner)
        #expect(signerError.message.contains(String(image.signerFingerprint.prefix(16))))

        let wrapping = image.keyWrappings[0]
        let wrongKey = try #require(throws: ImageError.self) {
            try KeyWrap.unsealDEK(wrapping, sealingKey: SecureBytes(patternBytes(count: 32, seed: 7)),
                                  manifestDigest: image.manifestDigest)
        }
        #expect(wrongKey.code == .unsealFailed)
        let wrongMeasurement = try #require(throws: ImageError.self) {
            try KeyWrap.unsealDEK(wrapping, sealingKey: PackagingFixture.sealingKey, manifestDigest: image.manifestDigest,
                                  measurement: SHA2.sha384([1]))
        }
        #expect(wrongMeasurement.code == .unsealFailed)
        var otherDigest = image.manifestDigest
        otherDigest[0] ^= 1
        let wrongImage = try #require(throws: ImageError.self) {
            try KeyWrap.unsealDEK(wrapping, sealingKey: PackagingFixture.sealingKey, manifestDigest: otherDigest)
        }
        #expect(wrongImage.code == .unsealFailed)
        guard case .sealed(var sealed) = wrapping else { Issue.record("not sealed"); return }
        sealed.sealedKey[0] ^= 1
        let tampered = try #require(throws: ImageError.self) {
            try KeyWrap.unsealDEK(.sealed(sealed), sealingKey: PackagingFixture.sealingKey, manifestDigest: image.manifestDigest)
        }
        #expect(tampered.code == .unsealFailed)

        let wrongDEK = try #require(throws: ImageError.self) { try image.decryptAsset(image.assets[0], dek: KeyWrap.generateDEK()) }
        #expect(wrongDEK.code == .assetCorrupt)
    }
}

func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
    for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
        if Array(haystack[index..<(index + needle.count)]) == needle { return index }
    }
    return nil
}
