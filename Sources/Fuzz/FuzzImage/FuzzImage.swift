import EnclavaCrypto
import EnclavaImage
import Foundation
import FuzzSupport
import SwiftProtobuf

/// The key the fuzzer signs headers with (a host cannot forge the packager's signature, so a hostile header
/// only reaches the checks after the signature when it is signed; this stands in for a hostile packager).
private let signer: ECDSAPrivateKey = {
    do { return try ECDSAPrivateKey.generate(curve: .p384) } catch { fatalError("cannot make a P-384 key: \(error)") }
}()
/// The sealing key and measurement the seed image's key is sealed to, so that an image that opens can be
/// unsealed and decrypted as the enclave would.
private let sealingKey = SecureBytes([UInt8](repeating: 0x5E, count: 32))
private let measurement = [UInt8](repeating: 0x4D, count: 48)
/// The one file each input is written to (``EnclaveImage/open(path:)`` reads a file, as the runtime does).
private let imagePath = "/tmp/enclava-fuzz-image-\(getpid()).eimg"
/// Assets larger than this are not decrypted (memory stays bounded).
private let maxDecryptedAsset: UInt64 = 4 << 20

/// libFuzzer entry for the enclave image and its manifest, by the input's first bytes:
/// * `ENCLAVA1…`: a whole `.eimg` file, opened as the runtime opens it (prefix, envelope, header, signature);
/// * byte 0 = 0: `u32 big-endian length ‖ ImageHeader ‖ payload` — the header is signed with the fuzzer's own
///   key and wrapped as `enclava package` does, so the checks after the signature (assets, key wrappings,
///   manifest, model interface) see it; an image that opens is inspected, its payload hashed, its key unsealed
///   and each (small) asset decrypted, chunk by chunk, as the enclave does;
/// * anything else: manifest TOML text, parsed and put in canonical form for its digest.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    if bytes.starts(with: ImageFormat.magic) {
        openImage(bytes)
    } else if bytes.first == 0, bytes.count >= 4 {
        let length = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= bytes.count - 4 else { return 0 }
        guard let file = signedImage(header: Array(bytes[4..<4 + length]), payload: Array(bytes[(4 + length)...])) else {
            return 0
        }
        openImage(file)
    } else {
        parseManifest(String(decoding: bytes, as: UTF8.self))
    }
    return 0
}

/// A `.eimg` whose header is `header` (re-signed by ``signer``) and whose encrypted assets are `payload`.
private func signedImage(header bytes: [UInt8], payload: [UInt8]) -> [UInt8]? {
    guard var header = try? Enclava_Image_V1_ImageHeader(serializedBytes: bytes) else { return nil }
    header.signerPublicKey = Data(signer.publicKey.spkiDER)
    header.signatureAlgorithm = ImageFormat.signatureAlgorithm
    do {
        let headerBytes: [UInt8] = try header.serializedBytes()
        var envelope = Enclava_Image_V1_SignedImageHeader()
        envelope.header = Data(headerBytes)
        envelope.signature = Data(try signer.signature(for: ImageFormat.signatureContext + headerBytes,
                                                       digest: .sha384).derRepresentation)
        let envelopeBytes: [UInt8] = try envelope.serializedBytes()
        let length = UInt32(envelopeBytes.count)
        return ImageFormat.magic + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) } + envelopeBytes + payload
    } catch {
        fatalError("cannot sign a header that parsed: \(error)")
    }
}

/// What the runtime and `enclava inspect` do with an image file.
private func openImage(_ file: [UInt8]) {
    guard FileManager.default.createFile(atPath: imagePath, contents: Data(file)) else {
        fatalError("cannot write \(imagePath)")
    }
    defer { unlink(imagePath) }
    guard let image = try? EnclaveImage.open(path: imagePath) else { return }
    _ = image.inspect()
    try? image.verifyPayload()
    guard let wrapping = image.keyWrappings.first,
          let dek = try? KeyWrap.unsealDEK(wrapping, sealingKey: sealingKey, manifestDigest: image.manifestDigest,
                                           measurement: measurement) else { return }
    for asset in image.assets where asset.plaintextSize <= maxDecryptedAsset {
        _ = try? image.decryptAsset(asset, dek: dek)
    }
}

/// What `enclava package` does with a manifest: parse it, then its canonical form (the digest's input).
private func parseManifest(_ text: String) {
    guard let manifest = try? Manifest.parse(text, sourceName: "fuzz.toml") else { return }
    _ = ManifestDigest.compute(manifest: manifest, assets: [])
}

/// Writes seed inputs into `folder`: a real image packaged from `ENCLAVA_FUZZ_MANIFEST` (a whole file) and
/// the same image as `length ‖ header ‖ payload`.
private func writeSeeds(_ folder: String) throws {
    guard let manifest = getenv("ENCLAVA_FUZZ_MANIFEST").map({ String(cString: $0) }) else {
        fatalError("set ENCLAVA_FUZZ_MANIFEST to the manifest to package")
    }
    let imageFile = "\(folder)/image.eimg"
    _ = try ImagePackager.package(manifestPath: manifest, signer: signer, outputPath: imageFile,
                                  wrapping: .sealedForSim(sealingKey: sealingKey, measurement: measurement))
    let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: imageFile)))
    let envelopeLength = file[8..<12].reduce(0) { $0 << 8 | Int($1) }
    let envelope = try Enclava_Image_V1_SignedImageHeader(serializedBytes: Array(file[12..<12 + envelopeLength]))
    let header = [UInt8](envelope.header)
    let length = UInt32(header.count)
    let split = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) } + header + Array(file[(12 + envelopeLength)...])
    try Data(split).write(to: URL(fileURLWithPath: "\(folder)/image-header.bin"))
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes
/// its seed inputs there instead.
@_cdecl("FuzzImage_main")
public func fuzzImageMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzImage)
}
