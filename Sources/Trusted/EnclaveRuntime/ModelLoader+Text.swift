import EnclavaCrypto
import EnclavaImage
import EnclaveInference

extension ModelLoader {
    /// The largest tokenizer asset the runtime decrypts (a BERT `vocab.txt` is about 230 KB).
    static let maxTokenizerBytes: UInt64 = 16 << 20

    /// Builds the `sentence-embedding` pipeline of an image: decrypts the tokenizer vocabulary, checks the
    /// manifest's text settings and that the model is a BERT-style encoder.
    /// - Throws: ``RuntimeError`` `.modelInvalid` naming what does not fit and the fix.
    static func loadTextPipeline(image: EnclaveImage, dek: SecureBytes, model: InferenceModel) throws -> TextServing {
        let pipeline = image.manifest.pipeline
        let defaults = Manifest.Pipeline.Defaults.self
        let pooling = pipeline.pooling ?? defaults.pooling
        guard pooling == .mean else {
            throw RuntimeError(.modelInvalid, "[pipeline] pooling = \"\(pooling.rawValue)\" is not supported by this runtime; "
                               + "package the image with pooling = \"mean\" (what sentence-transformers uses for MiniLM)")
        }
        guard let asset = image.asset(role: .tokenizer) else {
            throw RuntimeError(.modelInvalid, "the image's pipeline is sentence-embedding but it carries no tokenizer; repackage it")
        }
        guard asset.plaintextSize <= maxTokenizerBytes else {
            throw RuntimeError(.modelInvalid, "the tokenizer \(asset.name) is \(asset.plaintextSize) bytes, more than the "
                               + "\(maxTokenizerBytes)-byte limit; use the checkpoint's vocab.txt")
        }
        let vocabulary: String
        do {
            let bytes = try image.decryptAsset(asset, dek: dek)
            guard let text = bytes.withUnsafeBytes({ String(validating: $0, as: UTF8.self) }) else {
                throw RuntimeError(.modelInvalid, "the tokenizer \(asset.name) is not UTF-8 text; use the checkpoint's vocab.txt")
            }
            vocabulary = text
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.modelInvalid, "cannot decrypt the tokenizer \(asset.name): \(describe(error))")
        }
        let limits = TextLimits(maxTexts: pipeline.maxTexts ?? defaults.maxTexts,
                                maxTextBytes: pipeline.maxTextBytes ?? defaults.maxTextBytes)
        do {
            let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary, lowercase: pipeline.lowercase ?? defaults.lowercase)
            let engine = try SentenceEmbeddingPipeline(model: model, tokenizer: tokenizer,
                                                       maxSequenceLength: pipeline.maxSequenceLength ?? defaults.maxSequenceLength,
                                                       normalize: pipeline.normalize ?? defaults.normalize,
                                                       maxBatch: limits.maxTexts)
            try engine.checkSequenceLength()
            return TextServing(engine: engine, limits: limits)
        } catch let error as InferenceError {
            throw RuntimeError(.modelInvalid, "cannot set up the sentence-embedding pipeline: \(error.message)")
        }
    }
}
