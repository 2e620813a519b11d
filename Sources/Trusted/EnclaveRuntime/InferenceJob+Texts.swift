import EnclavaCrypto
import EnclaveInference

extension InferenceJob {
    /// The texts of a payload read by ``InferPayloadReader``, held to the image's limits: a text pipeline
    /// answers texts only (its encoder's raw token states are not part of its contract). The texts stay
    /// where they were decrypted — ranges of `plaintext`, locked memory — until the tokenizer reads them.
    static func prepareTexts(_ contents: InferPayloadReader.Contents, plaintext: SecureBytes, limits: TextLimits) -> Prepared {
        if let name = contents.firstInputName {
            return .refused(errorInfo(RuntimeReason.tensorsNotSupported,
                                      "this enclave runs a sentence-embedding pipeline; send texts (--text), not tensors",
                                      input: name))
        }
        let texts = TextBatch(bytes: plaintext, ranges: contents.texts)
        if let rejection = limits.rejection(of: texts, total: contents.textCount) { return .refused(rejection.errorInfo) }
        return .texts(texts)
    }
}
