extension ModelSupport {
    /// Checks, before packaging, what ``SentenceEmbeddingPipeline`` requires of its encoder and tokenizer:
    /// int64 `input_ids` and `attention_mask` (and optionally `token_type_ids`) and nothing else, a float32
    /// output of rank 3 (`last_hidden_state`, or the first output), and a vocabulary the
    /// ``WordPieceTokenizer`` accepts.
    /// - Parameters:
    ///   - report: the model's ``Report``.
    ///   - vocabulary: the text of the tokenizer asset (`vocab.txt`).
    ///   - lowercase: the manifest's `lowercase`.
    /// - Throws: ``InferenceError`` `invalidArgument` naming what does not fit.
    public static func checkSentenceEncoder(_ report: Report, vocabulary: String, lowercase: Bool) throws {
        let names = Set(report.inputs.map(\.name))
        guard names.isSubset(of: ["input_ids", "attention_mask", "token_type_ids"]),
              names.contains("input_ids"), names.contains("attention_mask"),
              report.inputs.allSatisfy({ $0.dtype == .int64 }) else {
            let found = report.inputs.map(\.description).joined(separator: "; ")
            throw InferenceError(.invalidArgument, "a sentence-embedding model takes int64 input_ids and attention_mask "
                                 + "(and optionally token_type_ids), but this one takes \(found); package it with "
                                 + "kind = \"tensor\" or export the encoder alone")
        }
        guard let output = report.outputs.first(where: { $0.name == "last_hidden_state" }) ?? report.outputs.first,
              output.dtype == .float32, !output.isRankKnown || output.shape.count == 3 else {
            throw InferenceError(.invalidArgument, "a sentence-embedding model returns float32 token states "
                                 + "[batch, sequence, hidden] (last_hidden_state); this one returns "
                                 + report.outputs.map(\.description).joined(separator: "; "))
        }
        _ = try WordPieceTokenizer(vocabulary: vocabulary, lowercase: lowercase)
    }
}
