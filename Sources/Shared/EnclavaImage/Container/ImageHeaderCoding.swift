import Foundation
import SwiftProtobuf

/// Conversions between the generated header messages and the public value types, with every
/// field of a decoded header checked (the header is attacker-controlled until its signature
/// has been verified, and its numbers are used as offsets afterwards).
enum ImageHeaderCoding {
    typealias Header = Enclava_Image_V1_ImageHeader

    static let minChunkSize = 4096
    static let maxChunkSize = 16 << 20

    static func message(_ asset: ImageAsset) -> Enclava_Image_V1_ImageAsset {
        var message = Enclava_Image_V1_ImageAsset()
        message.name = asset.name
        message.role = asset.role.rawValue
        message.plaintextSize = asset.plaintextSize
        message.plaintextSha256 = Data(asset.plaintextSHA256)
        message.chunkSize = UInt32(asset.chunkSize)
        message.ciphertextOffset = asset.ciphertextOffset
        message.ciphertextSize = asset.ciphertextSize
        if let hash = asset.ciphertextSHA256 { message.ciphertextSha256 = Data(hash) }
        return message
    }

    static func message(_ wrapping: KeyWrapping) -> Enclava_Image_V1_KeyWrapping {
        var message = Enclava_Image_V1_KeyWrapping()
        switch wrapping {
        case .sealed(let sealed):
            var inner = Enclava_Image_V1_SealedKeyWrapping()
            inner.version = sealed.version
            inner.keyPolicy = sealed.keyPolicy
            inner.purpose = sealed.purpose
            inner.measurement = Data(sealed.measurement)
            inner.nonce = Data(sealed.nonce)
            inner.sealedDek = Data(sealed.sealedKey)
            inner.aad = Data(sealed.aad)
            message.sealed = inner
        case .owner(let keyID):
            var inner = Enclava_Image_V1_OwnerKeyWrapping()
            inner.keyID = Data(keyID)
            message.owner = inner
        }
        return message
    }

    /// The asset table, checked: known roles, sane chunk sizes, exact ciphertext sizes, and
    /// assets back to back from offset 0 (so the table alone determines the file's length).
    static func assets(_ header: Header, path: String) throws -> [ImageAsset] {
        func corrupt(_ why: String) -> ImageError {
            ImageError(.corruptHeader, "the image header is inconsistent (\(why)); repackage the image", path: path)
        }
        guard !header.assets.isEmpty, header.assets.count <= 16 else { throw corrupt("\(header.assets.count) assets") }
        var next: UInt64 = 0
        var result: [ImageAsset] = []
        for message in header.assets {
            guard let role = AssetRole(rawValue: message.role) else { throw corrupt("unknown asset role \"\(message.role)\"") }
            let chunkSize = Int(message.chunkSize)
            guard (minChunkSize...maxChunkSize).contains(chunkSize) else { throw corrupt("chunk size \(chunkSize)") }
            guard message.plaintextSize <= ImageFormat.maxAssetBytes else { throw corrupt("asset of \(message.plaintextSize) bytes") }
            guard message.plaintextSha256.count == 32 else { throw corrupt("asset hash of \(message.plaintextSha256.count) bytes") }
            let expected = ImageFormat.ciphertextSize(plaintextSize: message.plaintextSize, chunkSize: chunkSize)
            guard message.ciphertextSize == expected else { throw corrupt("ciphertext size of \(message.name)") }
            guard message.ciphertextOffset == next else { throw corrupt("offset of \(message.name)") }
            guard message.ciphertextSha256.isEmpty || message.ciphertextSha256.count == 32 else {
                throw corrupt("ciphertext hash of \(message.ciphertextSha256.count) bytes")
            }
            next += message.ciphertextSize
            result.append(ImageAsset(name: message.name, role: role, plaintextSize: message.plaintextSize,
                                     plaintextSHA256: [UInt8](message.plaintextSha256), chunkSize: chunkSize,
                                     ciphertextOffset: message.ciphertextOffset, ciphertextSize: message.ciphertextSize,
                                     ciphertextSHA256: message.ciphertextSha256.isEmpty ? nil : [UInt8](message.ciphertextSha256)))
        }
        return result
    }

    static func wrappings(_ header: Header, path: String) throws -> [KeyWrapping] {
        guard !header.keyWrappings.isEmpty, header.keyWrappings.count <= 16 else {
            throw ImageError(.corruptHeader, "the image header has \(header.keyWrappings.count) key wrappings; repackage the image",
                             path: path)
        }
        return try header.keyWrappings.map { message in
            switch message.kind {
            case .sealed(let sealed):
                return .sealed(SealedDEK(version: sealed.version, keyPolicy: sealed.keyPolicy, purpose: sealed.purpose,
                                         measurement: [UInt8](sealed.measurement), nonce: [UInt8](sealed.nonce),
                                         sealedKey: [UInt8](sealed.sealedDek), aad: [UInt8](sealed.aad)))
            case .owner(let owner):
                return .owner(keyID: [UInt8](owner.keyID))
            case nil:
                throw ImageError(.unsupportedVersion, "the image uses a key wrapping this build does not know; upgrade Enclava",
                                 path: path)
            }
        }
    }
}
