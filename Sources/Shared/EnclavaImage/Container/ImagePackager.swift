import EnclavaCrypto
import Foundation
import SwiftProtobuf

/// Builds a signed, encrypted enclave image from a manifest (`enclava package`).
public struct ImagePackager {
    /// Progress is reported when an asset starts, then every this many chunks.
    static let progressEveryChunks: UInt64 = 16

    /// Packages the manifest at `manifestPath` and its assets into a `.eimg` at `outputPath`.
    ///
    /// Assets are hashed first (the manifest digest needs their SHA-256), then encrypted in a
    /// streaming pass under a fresh random DEK; an asset that changes in between is an error.
    /// The image (and, for an owner key, the key file) is written to a temporary file in the
    /// destination folder and renamed into place only when complete: on any error no output and
    /// no temporary file is left behind.
    ///
    /// - Parameters:
    ///   - manifestPath: The TOML manifest; asset paths are relative to its folder.
    ///   - signer: An ECDSA P-384 key (see ``SignerKey``).
    ///   - outputPath: The image to write (replaced if it exists).
    ///   - wrapping: How the DEK is made recoverable. An owner key file is never replaced: an
    ///     existing one is an error, checked before any work is done.
    ///   - assetRoot: The folder asset paths are relative to (`--asset-root`); nil for the manifest's folder.
    ///     Assets must stay inside it, symbolic links resolved.
    ///   - checkAssets: Called once the assets are measured and before anything is written (the CLI checks
    ///     that the runtime can load the model and tokenizer); whatever it throws aborts packaging.
    ///   - describeModel: Called after `checkAssets`: the model's inputs and outputs, recorded in the signed
    ///     header for `enclava inspect` (the CLI reads them from the ONNX file).
    ///   - progress: Called with one-line human-readable progress messages.
    /// - Throws: ``ManifestError`` for a bad manifest or asset path (with its line), ``ImageError``
    ///   for I/O, key and size problems, and what `checkAssets` throws.
    public static func package(manifestPath: String, signer: ECDSAPrivateKey, outputPath: String,
                               wrapping: KeyWrappingRequest, assetRoot: String? = nil,
                               checkAssets: ((ManifestMeasurement) throws -> Void)? = nil,
                               describeModel: ((ManifestMeasurement) throws -> ImageModelInterface?)? = nil,
                               progress: ((String) -> Void)? = nil) throws -> ImageSummary {
        guard signer.curve == .p384 else {
            throw ImageError(.invalidSignerKey, "images are signed with ECDSA P-384, but the signer key is on \(signer.curve)")
        }
        progress?("measuring \(manifestPath)")
        let measured = try ManifestDigest.measure(manifestPath: manifestPath, assetRoot: assetRoot)
        try checkOutputs(outputPath: outputPath, wrapping: wrapping, measured: measured)
        for asset in measured.assets where asset.size > ImageFormat.maxAssetBytes {
            throw ImageError(.invalidArgument, "is \(asset.size) bytes; the limit is \(ImageFormat.maxAssetBytes)", path: asset.path)
        }
        try checkAssets?(measured)

        var assets: [ImageAsset] = []
        var offset: UInt64 = 0
        for asset in measured.assets {
            let size = ImageFormat.ciphertextSize(plaintextSize: asset.size)
            assets.append(ImageAsset(name: asset.name, role: asset.role, plaintextSize: asset.size, plaintextSHA256: asset.sha256,
                                     chunkSize: ImageFormat.chunkSize, ciphertextOffset: offset, ciphertextSize: size))
            offset += size
        }

        let dek = KeyWrap.generateDEK()
        let keyWrapping: KeyWrapping
        var ownerKeyFile: AtomicOutputFile?
        switch wrapping {
        case .sealedForSim(let sealingKey, let measurement):
            keyWrapping = try KeyWrap.sealDEK(dek, sealingKey: sealingKey, manifestDigest: measured.digest, measurement: measurement)
        case .owner(let keyOutputPath):
            keyWrapping = .owner(keyID: try KeyWrap.ownerKeyID(for: dek))
            let file = try AtomicOutputFile(destination: keyOutputPath, mode: 0o600)
            var contents = SecureBytes(OwnerKeyFile.magic)
            contents.append(dek)
            try contents.withUnsafeBytes { try file.write($0) }
            ownerKeyFile = file
        }

        // Pass 1: the ciphertext hashes, so that the signed header lets anyone check the payload without the key.
        assets = try zip(assets, measured.assets).map { asset, source in
            asset.with(ciphertextSHA256: try encrypt(asset, from: source, dek: dek, manifestDigest: measured.digest,
                                                     to: nil, progress: progress))
        }
        let envelope = try signedEnvelope(measured: measured, assets: assets, wrapping: keyWrapping,
                                          modelInterface: try describeModel?(measured), signer: signer)
        let output = try AtomicOutputFile(destination: outputPath, mode: 0o644)
        try output.write(ImageFormat.magic + bigEndian(UInt32(envelope.count)))
        try output.write(envelope)
        for (asset, source) in zip(assets, measured.assets) {
            try encrypt(asset, from: source, dek: dek, manifestDigest: measured.digest, to: output, progress: progress)
        }

        // Never replace an existing owner key: it may be the only key of an earlier image.
        try ownerKeyFile?.commit(overwrite: false)
        do {
            try output.commit()
        } catch {
            if let ownerKeyFile { unlinkCommitted(ownerKeyFile.destination) }
            throw error
        }
        progress?("wrote \(outputPath)")
        return ImageSummary(name: measured.manifest.image.name, version: measured.manifest.image.version,
                            manifestDigest: measured.digest, assets: assets, keyWrappings: [keyWrapping],
                            signerFingerprint: SignerKey.fingerprint(of: signer.publicKey), outputPath: outputPath,
                            imageSize: UInt64(ImageFormat.prefixByteCount + envelope.count) + offset,
                            ownerKeyPath: ownerKeyFile?.destination)
    }

    /// The serialized `SignedImageHeader`.
    static func signedEnvelope(measured: ManifestMeasurement, assets: [ImageAsset], wrapping: KeyWrapping,
                               modelInterface: ImageModelInterface? = nil, signer: ECDSAPrivateKey) throws -> [UInt8] {
        var header = Enclava_Image_V1_ImageHeader()
        header.formatVersion = ImageFormat.formatVersion
        header.manifestToml = Data(measured.manifestText.utf8)
        header.manifestDigest = Data(measured.digest)
        header.assets = assets.map(ImageHeaderCoding.message)
        header.keyWrappings = [ImageHeaderCoding.message(wrapping)]
        header.signerPublicKey = Data(signer.publicKey.spkiDER)
        header.signatureAlgorithm = ImageFormat.signatureAlgorithm
        header.cipher = ImageFormat.cipher
        if let modelInterface { header.modelInterface = ImageHeaderCoding.message(modelInterface) }
        let headerBytes: [UInt8] = try header.serializedBytes()
        let signature = try signer.signature(for: ImageFormat.signatureContext + headerBytes, digest: .sha384)
        var envelope = Enclava_Image_V1_SignedImageHeader()
        envelope.header = Data(headerBytes)
        envelope.signature = Data(signature.derRepresentation)
        let bytes: [UInt8] = try envelope.serializedBytes()
        guard bytes.count <= ImageFormat.maxEnvelopeBytes else {
            throw ImageError(.invalidArgument, "the image header would be \(bytes.count) bytes, over the \(ImageFormat.maxEnvelopeBytes)-byte limit; shorten the manifest")
        }
        return bytes
    }

    /// Streams one asset through AES-256-GCM, checking that its plaintext still hashes to the
    /// value measured before.
    /// Returns the ciphertext's SHA-256. With `output` nil nothing is written: the first of the two passes, which
    /// learns the ciphertext hashes the signed header carries (the cipher is deterministic for a DEK).
    @discardableResult
    private static func encrypt(_ asset: ImageAsset, from source: MeasuredAsset, dek: SecureBytes, manifestDigest: [UInt8],
                                to output: AtomicOutputFile?, progress: ((String) -> Void)?) throws -> [UInt8] {
        let changed = ImageError(.fileUnreadable, "changed while it was being packaged; package again", path: source.path)
        let file = try InputFile(path: source.path)
        guard file.size == asset.plaintextSize else { throw changed }
        let cipher = try AssetCipher(dek: dek, manifestDigest: manifestDigest, assetName: asset.name)
        let chunks = asset.chunkCount
        let mebibytes = (asset.plaintextSize + (1 << 20) - 1) >> 20
        let verb = output == nil ? "hashing" : "encrypting"
        progress?("\(verb) \(asset.name) (\(asset.role.rawValue), \(asset.plaintextSize) bytes)")
        var hasher = StreamingHasher(.sha256)
        var ciphertextHasher = StreamingHasher(.sha256)
        var buffer = SecureBytes(count: asset.chunkSize)
        var done: UInt64 = 0
        for index in 0..<chunks {
            let count = Int(min(UInt64(asset.chunkSize), asset.plaintextSize - done))
            let sealed = try buffer.withUnsafeMutableBytes { whole -> [UInt8] in
                let chunk = UnsafeMutableRawBufferPointer(rebasing: whole[0..<count])
                guard try file.read(into: chunk, at: done) == count else { throw changed }
                hasher.update(UnsafeRawBufferPointer(chunk))
                return try cipher.seal(chunk: index, isLast: index == chunks - 1, plaintext: UnsafeRawBufferPointer(chunk))
            }
            sealed.withUnsafeBytes { ciphertextHasher.update($0) }
            try output?.write(sealed)
            done += UInt64(count)
            if (index + 1) % progressEveryChunks == 0, index + 1 < chunks {
                progress?("\(verb) \(asset.name): \(done >> 20)/\(mebibytes) MiB")
            }
        }
        guard hasher.finalize() == asset.plaintextSHA256 else { throw changed }
        let ciphertextSHA256 = ciphertextHasher.finalize()
        if let expected = asset.ciphertextSHA256, expected != ciphertextSHA256 { throw changed }
        return ciphertextSHA256
    }

    /// Refuses outputs that would overwrite an input or each other.
    private static func checkOutputs(outputPath: String, wrapping: KeyWrappingRequest, measured: ManifestMeasurement) throws {
        var inputs = Set(measured.assets.compactMap { realPath($0.path) })
        if let manifest = realPath(measured.manifestPath) { inputs.insert(manifest) }
        var outputs = [outputPath]
        if case .owner(let keyPath) = wrapping { outputs.append(keyPath) }
        if case .owner(let keyPath) = wrapping, access(keyPath, F_OK) == 0 {
            throw ImageError(.outputUnwritable,
                             "already exists and may be the only key of another image; remove it or choose another path", path: keyPath)
        }
        for output in outputs {
            if let real = realPath(output), inputs.contains(real) {
                throw ImageError(.invalidArgument, "is an input of the image; write the output elsewhere", path: output)
            }
        }
        if outputs.count == 2, outputs[0] == outputs[1] || (realPath(outputs[0]) != nil && realPath(outputs[0]) == realPath(outputs[1])) {
            throw ImageError(.invalidArgument, "is both the image and the key output; give two different paths", path: outputs[1])
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func unlinkCommitted(_ path: String) {
        _ = unlink(path)
    }
}
