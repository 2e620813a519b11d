extension SentenceEmbeddingPipeline {
    /// Proves that the encoder runs a text of ``maxSequenceLength`` tokens: one trial run of a single
    /// `[CLS] [UNK]… [SEP]` sequence of that length. A model with fewer position embeddings than
    /// `max_sequence_length` (all-MiniLM-L6-v2 has 512) would otherwise load, then fail on the first long text
    /// with an internal shape error. When the trial fails, a bisection finds the longest length the model runs,
    /// and the error names it.
    ///
    /// `enclava package` calls this before it writes an image, and the runtime again when it loads one.
    /// - Throws: ``InferenceError`` `invalidArgument` naming `max_sequence_length`, the model's failure and the
    ///   longest length that works.
    public func checkSequenceLength() throws {
        let failure: InferenceError
        do {
            try probe(length: maxSequenceLength)
            return
        } catch let error as InferenceError {
            failure = error
        }
        var works = 2, fails = maxSequenceLength
        do { try probe(length: works) } catch {
            throw InferenceError(.invalidArgument, "the encoder fails even on a 2-token text: \(failure.message)")
        }
        while fails - works > 1 {
            let middle = works + (fails - works) / 2
            if (try? probe(length: middle)) != nil { works = middle } else { fails = middle }
        }
        throw InferenceError(.invalidArgument,
                             "max_sequence_length = \(maxSequenceLength) is more than this model takes: a "
                                 + "\(maxSequenceLength)-token text fails (\(failure.message)); the longest text it runs "
                                 + "is \(works) tokens — set max_sequence_length to at most \(works)")
    }

    /// Runs the encoder once on one sequence of `length` tokens.
    func probe(length: Int) throws {
        let ids = [Int64(tokenizer.classifierID)] + Array(repeating: Int64(tokenizer.unknownID), count: length - 2)
            + [Int64(tokenizer.separatorID)]
        let batch = TokenizedBatch(batchSize: 1, sequenceLength: length, inputIDs: ids,
                                   attentionMask: Array(repeating: 1, count: length),
                                   tokenTypeIDs: Array(repeating: 0, count: length))
        _ = try run(batch)
    }
}
