import EnclavaCrypto

extension EnclaveImage {
    /// Decrypts `asset` chunk by chunk into `output`, authenticating every chunk and then the
    /// whole plaintext's SHA-256 against the signed header.
    ///
    /// All sizes are checked before `output` is touched; exactly `asset.plaintextSize` bytes are
    /// written at its start. On any failure the bytes written so far are zeroed before the error
    /// is thrown, so a caller never sees unauthenticated plaintext.
    ///
    /// - Parameters:
    ///   - asset: One of ``assets``.
    ///   - dek: The image's 32-byte data-encryption key.
    ///   - output: At least `asset.plaintextSize` bytes (e.g. a `SealedRegion`).
    /// - Throws: ``ImageError`` `.invalidArgument` (foreign asset, short buffer), `.assetCorrupt`
    ///   (a chunk fails authentication — tampered, reordered, swapped or wrong key — or the
    ///   plaintext hash differs), `.truncated`, `.fileUnreadable`, `.wrongKey` (DEK not 32 bytes).
    public func decryptAsset(_ asset: ImageAsset, dek: SecureBytes, into output: UnsafeMutableRawBufferPointer) throws {
        guard assets.contains(asset) else {
            throw ImageError(.invalidArgument, "asset \(asset.name) is not part of this image", path: path)
        }
        guard asset.plaintextSize <= UInt64(output.count) else {
            throw ImageError(.invalidArgument,
                             "the output buffer has \(output.count) bytes but \(asset.name) needs \(asset.plaintextSize)", path: path)
        }
        let size = Int(asset.plaintextSize)
        let target = UnsafeMutableRawBufferPointer(rebasing: output[0..<size])
        do {
            try decrypt(asset, dek: dek, into: target)
        } catch {
            if let base = target.baseAddress { memsetZero(base, target.count) }
            throw error
        }
    }

    /// Decrypts `asset` into new secure storage (see ``decryptAsset(_:dek:into:)``).
    public func decryptAsset(_ asset: ImageAsset, dek: SecureBytes) throws -> SecureBytes {
        guard asset.plaintextSize <= ImageFormat.maxAssetBytes, asset.plaintextSize <= UInt64(Int.max) else {
            throw ImageError(.invalidArgument, "asset \(asset.name) is too large", path: path)
        }
        var plaintext = SecureBytes(count: Int(asset.plaintextSize))
        try plaintext.withUnsafeMutableBytes { try decryptAsset(asset, dek: dek, into: $0) }
        return plaintext
    }

    /// Checks that `dek` is the owner key this image was packaged with.
    ///
    /// - Throws: ``ImageError`` `.wrongKey` when the image has no owner wrapping or the key id differs.
    public func checkOwnerKey(_ dek: SecureBytes) throws {
        let ids = keyWrappings.compactMap { wrapping -> [UInt8]? in
            if case .owner(let keyID) = wrapping { return keyID }
            return nil
        }
        guard !ids.isEmpty else {
            throw ImageError(.wrongKey, "the image has no owner-held key (it was packaged with --seal-for)", path: path)
        }
        let id = try KeyWrap.ownerKeyID(for: dek)
        guard ids.contains(where: { constantTimeEquals($0, id) }) else {
            throw ImageError(.wrongKey, "the key does not belong to this image (key id differs); use the key written when it was packaged",
                             path: path)
        }
    }

    private func decrypt(_ asset: ImageAsset, dek: SecureBytes, into output: UnsafeMutableRawBufferPointer) throws {
        let file = try InputFile(path: path)
        guard file.size == fileSize else {
            throw ImageError(.assetCorrupt, "the image changed on disk since it was opened (\(file.size) bytes, was \(fileSize)); open it again",
                             path: path)
        }
        let cipher = try AssetCipher(dek: dek, manifestDigest: manifestDigest, assetName: asset.name)
        let chunks = asset.chunkCount
        let stride = UInt64(asset.chunkSize + ImageFormat.tagByteCount)
        var ciphertext = [UInt8](repeating: 0, count: asset.chunkSize + ImageFormat.tagByteCount)
        var hasher = StreamingHasher(.sha256)
        var written = 0
        for index in 0..<chunks {
            let plainCount = min(asset.chunkSize, output.count - written)
            let cipherCount = plainCount + ImageFormat.tagByteCount
            let offset = dataOffset + asset.ciphertextOffset + index * stride
            try ciphertext.withUnsafeMutableBytes { buffer in
                let slot = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<cipherCount])
                guard try file.read(into: slot, at: offset) == cipherCount else {
                    throw ImageError(.truncated, "the image ends inside chunk \(index) of \(asset.name); copy it again", path: path)
                }
                let chunkOutput = UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + plainCount)])
                do {
                    try cipher.open(chunk: index, isLast: index == chunks - 1, ciphertext: UnsafeRawBufferPointer(slot),
                                    into: chunkOutput)
                } catch let error as CryptoError {
                    throw ImageError(.assetCorrupt,
                                     "chunk \(index) of \(asset.name) failed authentication (\(error.code.rawValue)): the image was modified or the key is wrong",
                                     path: path)
                }
                hasher.update(UnsafeRawBufferPointer(chunkOutput))
            }
            written += plainCount
        }
        guard written == output.count, constantTimeEquals(hasher.finalize(), asset.plaintextSHA256) else {
            throw ImageError(.assetCorrupt, "the decrypted \(asset.name) does not match its SHA-256 in the header; repackage the image",
                             path: path)
        }
    }
}

/// Zeroes memory in a way the optimizer keeps (the write goes through an opaque pointer).
@inline(never)
func memsetZero(_ pointer: UnsafeMutableRawPointer, _ count: Int) {
    pointer.initializeMemory(as: UInt8.self, repeating: 0, count: count)
}
