import EnclaveInference
import Foundation
import FuzzSupport

/// all-MiniLM-L6-v2's vocabulary (`ENCLAVA_FUZZ_VOCAB`, else `../shared/models/all-MiniLM-L6-v2/vocab.txt`),
/// loaded once: lower-casing (the checkpoint's own setting) and cased.
private let tokenizers: [WordPieceTokenizer] = {
    let path = getenv("ENCLAVA_FUZZ_VOCAB").map { String(cString: $0) } ?? "../shared/models/all-MiniLM-L6-v2/vocab.txt"
    do {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return [try WordPieceTokenizer(vocabulary: text),
                try WordPieceTokenizer(vocabulary: text, lowercase: false, splitChineseCharacters: false)]
    } catch {
        fatalError("cannot load the vocabulary \(path): \(error)")
    }
}()

/// libFuzzer entry for the WordPiece tokenizer as a text pipeline runs it on a request's texts: the input as
/// UTF-8 text (when it is valid) and decoded lossily, encoded with `[CLS]`/`[SEP]` at a few `maxLength`s (the
/// result must fit and be framed), with and without a limit, and as a batch — and the raw bytes read in place
/// as a served request's text is (the same ids as their lossily decoded `String`). Then the input as a vocabulary
/// file (an image asset), which must be refused with an error or give a tokenizer that encodes.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    var texts = [String(decoding: bytes, as: UTF8.self)]
    if let valid = String(validating: bytes, as: UTF8.self), valid != texts[0] { texts.append(valid) }
    for tokenizer in tokenizers {
        for text in texts {
            for maxLength in [2, 16, 128] {
                let ids = tokenizer.encode(text, maxLength: maxLength)
                precondition(ids.count <= maxLength, "encode gave \(ids.count) ids for maxLength \(maxLength)")
                precondition(ids.first == tokenizer.classifierID && ids.last == tokenizer.separatorID, "encode lost [CLS]/[SEP]")
                precondition(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "encode gave an id outside the vocabulary")
            }
            let limited = tokenizer.tokenIDs(text, limit: 64)
            precondition(limited.count <= 64, "tokenIDs ignored its limit")
            if bytes.count <= 512 {
                let all = tokenizer.tokenIDs(text)
                precondition(Array(all.prefix(64)) == limited, "the limited ids are not a prefix of all ids")
            }
        }
        let batch = tokenizer.encodeBatch(texts + ["a"], maxLength: 32)
        precondition(batch.inputIDs.count == batch.batchSize * batch.sequenceLength, "the batch is not rectangular")
        // The bytes as a served request gives them: read in place, ill-formed sequences dropped like U+FFFD.
        let inPlace = tokenizer.encodeBatch(TextBatch(bytes: TensorBytes(bytes).secureBytes, ranges: [0..<bytes.count]), maxLength: 32)
        precondition(inPlace == tokenizer.encodeBatch([texts[0]], maxLength: 32), "bytes read in place tokenize unlike their String")
    }
    if let vocabulary = try? WordPieceTokenizer(vocabulary: texts[0]) {
        _ = vocabulary.encode("the quick brown fox [UNK] ##s", maxLength: 16)
    }
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzTokenizer_main")
public func fuzzTokenizerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = tokenizers.count
    return FuzzDriver.run(argc, argv, fuzzTokenizer)
}
