import EnclavaCrypto
import EnclavaImage
import EnclaveInference
import EnclavePlatform
import EnclaveSealing
import Logging

/// Startup steps that turn an `.eimg` into a servable model (DESIGN.md §4, §5, §7): verify the image
/// signature, obtain the data-encryption key (unsealed with the platform sealing key, or released later — see
/// ``KeySource``), decrypt the model into sealed memory and load it. Every failure is a ``RuntimeError`` whose
/// message is one line with the fix.
enum ModelLoader {
    /// Opens an image, verifies its header signature and, when a fingerprint is pinned, that the signer is the
    /// pinned key.
    /// - Throws: ``RuntimeError`` `.imageInvalid`, or `.wrongSigner` naming both fingerprints.
    static func openImage(path: String, signerFingerprint: String? = nil) throws -> EnclaveImage {
        let image: EnclaveImage
        do {
            image = try EnclaveImage.open(path: path)
        } catch {
            throw RuntimeError(.imageInvalid, "cannot use image \(path): \(describe(error))")
        }
        if let pinned = signerFingerprint,
           !constantTimeEquals(Array(pinned.utf8), Array(image.signerFingerprint.lowercased().utf8)) {
            throw RuntimeError(.wrongSigner, "image \(path) is signed by key \(image.signerFingerprint), not by the "
                + "pinned signer \(pinned) (--signer-fingerprint); launch the image from the expected signer")
        }
        return image
    }

    /// Decrypts and loads the model of a verified image with its data-encryption key, and for a
    /// `sentence-embedding` pipeline its tokenizer. `[runtime] threads` is both the number of worker threads and
    /// the number of threads each model run splits its weight products across (see `Manifests/README.md`).
    static func load(image: EnclaveImage, dek: SecureBytes, lockPolicy: MemoryLockPolicy,
                     tensorLimits: TensorLimits, logger: Logger) throws -> EnclaveCore.Serving {
        let manifest = image.manifest
        guard let asset = image.assets.first(where: { $0.role == .model }) else {
            throw RuntimeError(.modelInvalid, "the image has no model asset; repackage it")
        }
        let model = try loadModel(asset, image: image, dek: dek, threads: manifest.runtime.threads,
                                  lockPolicy: lockPolicy, logger: logger)
        logger.info("model loaded", metadata: ["asset": "\(asset.name)", "bytes": "\(asset.plaintextSize)",
                                               "inputs": "\(model.inputs.map(\.description).joined(separator: "; "))"])
        // DESIGN.md §5: whether requests of different sessions may share a model run.
        let rows = model.rowIndependence
        let batching = manifest.pipeline.kind == .sentenceEmbedding ? "batching: each request's texts run on their own (requests are not merged)"
            : rows.isProven ? "batching: rows of different sessions may share a run"
            : "batching: one session per run (row independence not proven)"
        logger.info("\(batching)", metadata: ["max_batch": "\(manifest.runtime.maxBatch)", "verdict": "\(rows)"])
        var texts: TextServing?
        if manifest.pipeline.kind == .sentenceEmbedding {
            texts = try loadTextPipeline(image: image, dek: dek, model: model)
            logger.info("tokenizer loaded", metadata: ["max_sequence_length": "\(manifest.pipeline.maxSequenceLength ?? Manifest.Pipeline.Defaults.maxSequenceLength)",
                                                       "max_texts": "\(texts!.limits.maxTexts)"])
        }
        return EnclaveCore.Serving(engine: model, manifestDigest: image.manifestDigest, modelName: manifest.image.name,
                                   threads: manifest.runtime.threads, maxQueue: manifest.runtime.maxQueue,
                                   maxBatch: manifest.runtime.maxBatch, tensorLimits: tensorLimits, texts: texts)
    }

    /// Decrypts the model into sealed memory and loads it; the decrypted file is zeroized and released as
    /// soon as the weights are in their own sealed region, before the weight products are packed.
    static func loadModel(_ asset: ImageAsset, image: EnclaveImage, dek: SecureBytes, threads: Int,
                          lockPolicy: MemoryLockPolicy, logger: Logger) throws -> InferenceModel {
        do {
            let region = try SealedRegion(count: Int(asset.plaintextSize), lockPolicy: lockPolicy)
            if !region.isLocked {
                logger.warning("sealed memory is NOT locked in RAM (--allow-unlocked-memory); development only")
            }
            try region.withUnsafeMutableBytes { buffer in
                try image.decryptAsset(asset, dek: dek, into: buffer)
            }
            // The model takes the region and releases it once the weights are copied out (it names every
            // missing operator when the model is not supported).
            return try InferenceModel(onnx: region, memoryLockPolicy: lockPolicy, threads: threads)
        } catch let error as SealedMemoryError {
            throw RuntimeError(.sealedMemory, error.message)
        } catch let error as InferenceError where error.code == .resourceLimit {
            throw RuntimeError(.sealedMemory, "cannot load the model \(asset.name): \(error.message)")
        } catch let error as InferenceError {
            throw RuntimeError(.modelInvalid, "cannot load the model \(asset.name): \(error.message)")
        } catch {
            throw RuntimeError(.modelInvalid, "cannot decrypt the model \(asset.name): \(describe(error))")
        }
    }

    /// ``KeySource/sealedInImage``: finds the sealed key wrapping and opens it with `platform.sealingKey(purpose:)`.
    static func unsealDEK(image: EnclaveImage, platform: any TEEPlatform) throws -> SecureBytes {
        let sealed = image.keyWrappings.first { if case .sealed = $0 { true } else { false } }
        guard let wrapping = sealed else {
            throw RuntimeError(.noSealedKey, "the image carries no sealed key; package it with `enclava package --seal-for sim`")
        }
        let sealingKey: SecureBytes
        do {
            sealingKey = try platform.sealingKey(purpose: EnclavaProtocolLabels.dekSealingPurpose)
        } catch {
            throw RuntimeError(.platformUnavailable, "the platform cannot derive a sealing key: \(describe(error))")
        }
        if case .sealed(let record) = wrapping, !record.measurement.isEmpty, record.measurement != platform.measurement {
            throw RuntimeError(.unsealFailed, "the image key is sealed for runtime measurement "
                               + "\(hex(record.measurement).prefix(16))… but this runtime measures "
                               + "\(hex(platform.measurement).prefix(16))…; repackage the image with --seal-for sim "
                               + "for this enclava-runtime binary")
        }
        do {
            return try KeyWrap.unsealDEK(wrapping, sealingKey: sealingKey, manifestDigest: image.manifestDigest,
                                         measurement: platform.measurement)
        } catch {
            throw RuntimeError(.unsealFailed, describe(error))
        }
    }

    /// The message of an error from another module, without its source location.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as ImageError: error.message
        case let error as PlatformError: error.message
        case let error as CryptoError: error.message
        case let error as RuntimeError: error.message
        default: "\(error)"
        }
    }
}
