import EnclavaCrypto
import Foundation
import SwiftProtobuf

/// An opened enclave image (`.eimg`) whose header signature has been verified.
///
/// Layout (see ``ImageFormat`` and `Protos/image.proto`): magic `ENCLAVA1`, a u32 big-endian
/// envelope length, a `SignedImageHeader { header, signature }` envelope, then the encrypted
/// assets. The ECDSA P-384/SHA-384 signature covers `"enclava-image-header-v1\0" ‖ header`, the
/// exact serialized `ImageHeader` bytes carried in the envelope; the header therefore needs no
/// "signature field left empty" convention and is never re-serialized for verification.
///
/// ``open(path:)`` checks that the header is signed by the key it names — not *who* that key is:
/// call ``verifySigner(expected:)`` with the key you trust. Asset plaintext is only reachable
/// through ``decryptAsset(_:dek:into:)``, which authenticates every chunk.
public struct EnclaveImage: Sendable {
    /// The file the image was opened from.
    public let path: String
    /// `ImageHeader.format_version`.
    public let formatVersion: UInt32
    /// The parsed manifest.
    public let manifest: Manifest
    /// The manifest text as packaged.
    public let manifestText: String
    /// The manifest digest (SHA-384, 48 bytes): the image's identity.
    public let manifestDigest: [UInt8]
    /// The encrypted assets, in file order.
    public let assets: [ImageAsset]
    /// How the data-encryption key can be recovered.
    public let keyWrappings: [KeyWrapping]
    /// The key that signed the header (verified).
    public let signerPublicKey: ECDSAPublicKey
    /// `"ecdsa-p384-sha384"`.
    public let signatureAlgorithm: String
    /// The image file's size in bytes.
    public let fileSize: UInt64
    /// The model's inputs and outputs recorded at packaging (nil for images packaged before they were).
    public let modelInterface: ImageModelInterface?
    /// File offset of the first asset byte (the end of the envelope).
    let dataOffset: UInt64

    /// The key wrappings (same as ``keyWrappings``).
    public var wrappings: [KeyWrapping] { keyWrappings }

    /// The first asset with `role`, if any.
    public func asset(role: AssetRole) -> ImageAsset? { assets.first { $0.role == role } }

    /// Lowercase hex SHA-256 of the signer's SubjectPublicKeyInfo DER.
    public var signerFingerprint: String { SignerKey.fingerprint(of: signerPublicKey) }

    /// Opens an image and verifies its structure and header signature. No key is needed.
    ///
    /// - Throws: ``ImageError`` with code `fileUnreadable`, `badMagic`, `truncated`, `corruptHeader`,
    ///   `signatureInvalid` or `unsupportedVersion`.
    public static func open(path: String) throws -> EnclaveImage {
        let file = try InputFile(path: path)
        let prefixLength = Int(min(file.size, UInt64(ImageFormat.prefixByteCount)))
        let prefix = try file.readExactly(prefixLength, at: 0)
        guard !prefix.isEmpty else {
            throw ImageError(.truncated, "the image is empty; copy it again or repackage it", path: path)
        }
        let magicPart = Array(prefix.prefix(ImageFormat.magic.count))
        guard magicPart == Array(ImageFormat.magic.prefix(magicPart.count)) else {
            throw ImageError(.badMagic, "not an Enclava image (it does not start with ENCLAVA1); give a .eimg made by `enclava package`",
                             path: path)
        }
        guard prefix.count == ImageFormat.prefixByteCount else {
            throw ImageError(.truncated, "the image is truncated (\(file.size) bytes, shorter than its \(ImageFormat.prefixByteCount)-byte prefix); copy it again",
                             path: path)
        }
        let envelopeLength = prefix[8..<12].reduce(0) { $0 << 8 | Int($1) }
        guard envelopeLength > 0, envelopeLength <= ImageFormat.maxEnvelopeBytes else {
            throw ImageError(.corruptHeader, "the image header length \(envelopeLength) is outside 1…\(ImageFormat.maxEnvelopeBytes); the file is corrupt",
                             path: path)
        }
        let dataOffset = UInt64(ImageFormat.prefixByteCount + envelopeLength)
        guard dataOffset <= file.size else {
            throw ImageError(.truncated, "the image is truncated inside its header (\(file.size) of at least \(dataOffset) bytes); copy it again",
                             path: path)
        }
        let envelopeBytes = try file.readExactly(envelopeLength, at: UInt64(ImageFormat.prefixByteCount))
        let (header, headerBytes, signature) = try decodeEnvelope(envelopeBytes, path: path)
        let signer = try verifySignature(header: header, headerBytes: headerBytes, signature: signature, path: path)
        return try validated(header, signer: signer, path: path, dataOffset: dataOffset, fileSize: file.size)
    }

    /// Checks that the image was signed by `expected`.
    ///
    /// - Throws: ``ImageError`` `.wrongSigner`, naming both fingerprints.
    public func verifySigner(expected: ECDSAPublicKey) throws {
        guard constantTimeEquals(expected.spkiDER, signerPublicKey.spkiDER) else {
            throw ImageError(.wrongSigner,
                             "signed by key \(signerFingerprint.prefix(16))…, not by the expected key \(SignerKey.fingerprint(of: expected).prefix(16))…; use the image from the expected signer",
                             path: path)
        }
    }

    private static func decodeEnvelope(_ bytes: [UInt8], path: String) throws
        -> (Enclava_Image_V1_ImageHeader, [UInt8], [UInt8]) {
        do {
            let envelope = try Enclava_Image_V1_SignedImageHeader(serializedBytes: bytes)
            let headerBytes = [UInt8](envelope.header)
            let header = try Enclava_Image_V1_ImageHeader(serializedBytes: headerBytes)
            return (header, headerBytes, [UInt8](envelope.signature))
        } catch {
            throw ImageError(.corruptHeader, "the image header cannot be decoded; the file is corrupt, copy or repackage it",
                             path: path)
        }
    }

    private static func verifySignature(header: Enclava_Image_V1_ImageHeader, headerBytes: [UInt8], signature: [UInt8],
                                        path: String) throws -> ECDSAPublicKey {
        guard header.signatureAlgorithm == ImageFormat.signatureAlgorithm else {
            throw ImageError(.signatureInvalid,
                             "the image is signed with \"\(header.signatureAlgorithm)\", expected \(ImageFormat.signatureAlgorithm); it is corrupt or from an unsupported packager",
                             path: path)
        }
        guard let signer = try? ECDSAPublicKey(spkiDER: [UInt8](header.signerPublicKey)), signer.curve == .p384 else {
            throw ImageError(.signatureInvalid, "the image's signer key is not an ECDSA P-384 public key; the image is corrupt",
                             path: path)
        }
        guard let parsed = try? ECDSASignature(derRepresentation: signature),
              signer.isValidSignature(parsed, for: ImageFormat.signatureContext + headerBytes, digest: .sha384) else {
            throw ImageError(.signatureInvalid, "the image header signature does not verify; the image was modified or damaged",
                             path: path)
        }
        return signer
    }

    private static func validated(_ header: Enclava_Image_V1_ImageHeader, signer: ECDSAPublicKey, path: String,
                                  dataOffset: UInt64, fileSize: UInt64) throws -> EnclaveImage {
        func corrupt(_ why: String) -> ImageError {
            ImageError(.corruptHeader, "the image header is inconsistent (\(why)); repackage the image", path: path)
        }
        guard header.formatVersion == ImageFormat.formatVersion, header.cipher == ImageFormat.cipher else {
            throw ImageError(.unsupportedVersion,
                             "image format \(header.formatVersion) with cipher \"\(header.cipher)\" is not supported by this build (format \(ImageFormat.formatVersion)); upgrade Enclava",
                             path: path)
        }
        guard let text = String(validating: [UInt8](header.manifestToml), as: UTF8.self) else {
            throw corrupt("the manifest is not UTF-8")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(text, sourceName: "\(path) (embedded manifest)")
        } catch let error as ManifestError {
            throw corrupt("embedded manifest: \(error.description)")
        }
        let assets = try ImageHeaderCoding.assets(header, path: path)
        guard assets.map({ ManifestAsset(name: $0.name, role: $0.role) }) == manifest.assets else {
            throw corrupt("the asset table does not match the manifest")
        }
        let digest = [UInt8](header.manifestDigest)
        guard digest == ManifestDigest.compute(manifest: manifest, assets: assets.map(\.digest)) else {
            throw corrupt("the manifest digest does not match the manifest and asset hashes")
        }
        let wrappings = try ImageHeaderCoding.wrappings(header, path: path)
        let dataSize = assets.reduce(0) { $0 + $1.ciphertextSize }
        let expectedSize = dataOffset + dataSize
        guard fileSize >= expectedSize else {
            throw ImageError(.truncated, "the image is truncated (\(fileSize) of \(expectedSize) bytes); copy it again", path: path)
        }
        guard fileSize == expectedSize else {
            throw corrupt("\(fileSize - expectedSize) unexpected bytes after the last asset")
        }
        return EnclaveImage(path: path, formatVersion: header.formatVersion, manifest: manifest, manifestText: text,
                            manifestDigest: digest, assets: assets, keyWrappings: wrappings, signerPublicKey: signer,
                            signatureAlgorithm: header.signatureAlgorithm, fileSize: fileSize,
                            modelInterface: try ImageHeaderCoding.modelInterface(header, path: path), dataOffset: dataOffset)
    }
}
