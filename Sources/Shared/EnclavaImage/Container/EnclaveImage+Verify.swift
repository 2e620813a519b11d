import EnclavaCrypto

extension EnclaveImage {
    /// Hashes every asset's ciphertext and compares it with the SHA-256 the signed header carries, so a damaged
    /// or altered payload is found without the key (`enclava inspect --verify`), not only when an enclave
    /// decrypts it. Reads the whole payload once, in 1 MiB pieces.
    ///
    /// - Parameter progress: called with one line per asset (and every 64 MiB of a large one).
    /// - Throws: ``ImageError`` `assetCorrupt` naming the first asset whose bytes differ and where they lie;
    ///   `unsupportedVersion` for an image packaged before ciphertext hashes were recorded (repackage it to
    ///   make it verifiable); `truncated` or `fileUnreadable` when the file changed or cannot be read.
    public func verifyPayload(progress: ((String) -> Void)? = nil) throws {
        let missing = assets.filter { $0.ciphertextSHA256 == nil }.map(\.name)
        guard missing.isEmpty else {
            throw ImageError(.unsupportedVersion, "the image carries no ciphertext hash for \(missing.joined(separator: ", ")) "
                + "(packaged by an older enclava), so its payload cannot be checked without the key; repackage it",
                path: path)
        }
        let file = try InputFile(path: path)
        guard file.size == fileSize else {
            throw ImageError(.truncated, "the image changed size while it was being verified (\(fileSize) → \(file.size) "
                + "bytes); copy it again", path: path)
        }
        let piece = 1 << 20
        var buffer = [UInt8](repeating: 0, count: piece)
        for asset in assets {
            progress?("verifying \(asset.name) (\(asset.ciphertextSize) bytes of ciphertext)")
            var hasher = StreamingHasher(.sha256)
            var done: UInt64 = 0
            while done < asset.ciphertextSize {
                let count = Int(min(UInt64(piece), asset.ciphertextSize - done))
                let start = dataOffset + asset.ciphertextOffset + done
                let got = try buffer.withUnsafeMutableBytes {
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), at: start)
                }
                guard got == count else {
                    throw ImageError(.truncated, "the image ends inside \(asset.name) at byte \(start + UInt64(got)); copy it again",
                                     path: path)
                }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                done += UInt64(count)
                if done % (64 << 20) == 0, done < asset.ciphertextSize {
                    progress?("verifying \(asset.name): \(done >> 20)/\(asset.ciphertextSize >> 20) MiB")
                }
            }
            guard constantTimeEquals(hasher.finalize(), asset.ciphertextSHA256 ?? []) else {
                throw ImageError(.assetCorrupt, "the encrypted \(asset.name) (bytes \(dataOffset + asset.ciphertextOffset)…"
                    + "\(dataOffset + asset.ciphertextOffset + asset.ciphertextSize - 1) of the file) does not match the hash in "
                    + "the signed header: the payload was damaged or altered; copy the image again from its source", path: path)
            }
        }
    }
}
