import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import EnclaveInference
import Foundation
import Synchronization
import Testing
@testable import EnclaveRuntime

/// all-MiniLM-L6-v2 as a sentence-embedding image serves it (../shared/models), loaded once.
enum MiniLMServing {
    static let folder = TestPaths.shared().appendingPathComponent("models/all-MiniLM-L6-v2")
    static let vocabulary: Result<String, any Error> = Result {
        try String(contentsOf: folder.appendingPathComponent("vocab.txt"), encoding: .utf8)
    }
    static let pipeline: Result<SentenceEmbeddingPipeline, any Error> = Result {
        let model = try InferenceModel(onnx: [UInt8](try Data(contentsOf: folder.appendingPathComponent("model.onnx"))),
                                       memoryLockPolicy: .allowUnlocked)
        return try SentenceEmbeddingPipeline(model: model, tokenizer: WordPieceTokenizer(vocabulary: vocabulary.get()),
                                             maxSequenceLength: 128, maxBatch: 8)
    }

    /// An enclave core serving texts in-process with `engine` (MiniLM's pipeline unless given).
    static func readyCore(engine: (any TextEngine)? = nil) async throws -> EnclaveCore {
        let core = EnclaveCore(platform: FakePlatform())
        await core.beginLoading(modelName: "minilm")
        await core.loaded(.init(engine: EchoEngine(), manifestDigest: SHA2.sha384([2]), modelName: "minilm", threads: 1,
                                maxQueue: 4, texts: TextServing(engine: try engine ?? pipeline.get(),
                                                                limits: TextLimits(maxTexts: 8, maxTextBytes: 16384))))
        return core
    }
}

/// MiniLM's pipeline that, once it has embedded a request's texts — while the request is still being served,
/// its job and decrypted payload alive — scans unlocked memory for `needles` and records the names found.
struct ScanningTextEngine: TextEngine {
    final class Findings: Sendable {
        let names = Mutex<[String]>([])
    }

    let pipeline: SentenceEmbeddingPipeline
    let needles: [(name: String, bytes: SecureBytes)]
    let findings = Findings()

    func embed(texts: TextBatch) throws -> [String: HostTensor] {
        let outputs = try pipeline.embed(texts: texts)
        let map = try ProcessMemoryMap()
        for needle in needles where !needle.bytes.withUnsafeBytes({ map.unlockedMappings(containing: $0) }).isEmpty {
            findings.names.withLock { $0.append(needle.name) }
        }
        return outputs
    }
}

/// DESIGN.md §5 for sentence-embedding requests: the texts are read where they were decrypted, tokenized in
/// locked memory, and the ids, mask and embeddings are locked memory too — after a served text request
/// nothing of it is left in unlocked memory.
@Suite struct TextMemoryProtectionTests {
    /// Appends `bytes` to `secure` (the source is not secret, or is itself locked).
    static func append(_ secure: inout SecureBytes, _ bytes: UnsafeRawBufferPointer) { secure.append(contentsOf: bytes) }

    /// The adversary's view of swap during and after a text request: neither a marker word that is not in the vocabulary
    /// (as sent, upper case, and as the tokenizer lower-cases it, in bytes and in scalars), nor a phrase of
    /// vocabulary words, nor the token ids they become (int64 and int32), nor the embedding, is anywhere in
    /// the process's unlocked memory — while the request is being served (after the encoder ran, its job and
    /// payload still alive) and after it was answered. The test builds every one of these only in locked memory.
    @Test func aServedTextRequestLeavesNoPlaintextInUnlockedMemory() async throws {
        let pipeline = try MiniLMServing.pipeline.get()
        // 24 random capital letters: no vocabulary word, so it splits into several pieces.
        var marker = SecureBytes.random(count: 24)
        var lowered = SecureBytes(count: 24)
        var scalars = SecureBytes(count: 96)
        marker.withUnsafeMutableBytes { raw in
            for index in raw.indices { raw[index] = 0x41 + raw[index] % 26 }
            lowered.withUnsafeMutableBytes { low in
                scalars.withUnsafeMutableBytes { wide in
                    for index in raw.indices {
                        low[index] = raw[index] | 0x20
                        wide.storeBytes(of: UInt32(raw[index] | 0x20).littleEndian, toByteOffset: index * 4, as: UInt32.self)
                    }
                }
            }
        }
        // Whole vocabulary words in random order (each word is in the vocabulary file; the phrase is not): eight
        // after the marker, then a few hundred more, so that the request's copies are large enough to outlive
        // the allocations of the model run if anything freed them without wiping.
        let words = try MiniLMServing.vocabulary.get().split(separator: "\n")
            .filter { $0.count >= 5 && $0.utf8.allSatisfy { (0x61...0x7A).contains($0) } }
        var text = marker
        for index in 0..<300 {
            var word = " " + words[Int(SecureRandom.bytes(count: 2).withUnsafeBytes { $0.load(as: UInt16.self) }) % words.count]
            word.withUTF8 { Self.append(&text, UnsafeRawBufferPointer($0)) }
            if index == 7 { try #require(text.count < 200) }
        }
        let phrase = text.slice(25..<min(text.count, 200))

        // What the tokenizer makes of the text (computed here, in locked memory): its first 16 ids after [CLS].
        let batch = pipeline.tokenizer.encodeBatch(TextBatch(bytes: text, ranges: [0..<text.count]), maxLength: 128)
        try #require(batch.sequenceLength == 128)
        let tokens = 16
        let ids64 = batch.inputIDBytes.extracting(8..<(8 + tokens * 8)).secureBytes
        var ids32 = SecureBytes(count: tokens * 4)
        ids32.withUnsafeMutableBytes { out in
            ids64.withUnsafeBytes { wide in
                for index in 0..<tokens {
                    out.storeBytes(of: UInt32(truncatingIfNeeded: wide.load(fromByteOffset: index * 8, as: UInt64.self)),
                                   toByteOffset: index * 4, as: UInt32.self)
                }
            }
        }

        try await Self.serve(text, needles: [("marker", marker), ("lower-cased marker", lowered), ("marker scalars", scalars),
                                             ("phrase", phrase), ("int64 ids", ids64), ("int32 ids", ids32)])
        // The scanner can fail: an ordinary copy of the marker is found.
        var copy = marker.unsafeCopyToArray()
        let control = try ProcessMemoryMap()
        #expect(!copy.withUnsafeBytes { control.unlockedMappings(containing: $0) }.isEmpty, "the scanner must find an ordinary copy")
        copy.withUnsafeMutableBytes { SecureMemory.wipe($0) }
    }

    /// Serves `text` as one request to an in-process MiniLM enclave through an encrypted session, and checks
    /// that no needle is in unlocked memory while the request is served nor after it was answered (the
    /// embedding it returns is added to the needles after).
    static func serve(_ text: SecureBytes, needles: [(name: String, bytes: SecureBytes)]) async throws {
        // The payload, by hand, in locked memory: `texts` (field 2) = the text.
        var plaintext = SecureBytes(count: 0)
        var header: [UInt8] = [0x12]
        var length = text.count
        while length >= 0x80 {
            header.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        header.append(UInt8(length))
        header.withUnsafeBytes { Self.append(&plaintext, $0) }
        plaintext.append(text)

        let scanning = ScanningTextEngine(pipeline: try MiniLMServing.pipeline.get(), needles: needles)
        let core = try await MiniLMServing.readyCore(engine: scanning)
        var client = try await ManualClient.open(core)
        var request = Enclava_V1_InferRequest()
        request.sessionID = Data(client.sessionID)
        request.sequence = 0
        request.ciphertext = Data(try client.sender.seal(plaintext, aad: SessionKeySchedule.requestAAD(
            sessionID: client.sessionID, sequence: 0)))
        let response = try await core.infer(request).get()
        let opened = try client.schedule.openResponse([UInt8](response.ciphertext), sessionID: client.sessionID, sequence: 0)
        var result = try Enclava_V1_InferResult(secureBytes: opened)
        #expect(!result.hasError, "\(result.error)")
        guard var output = result.outputs.removeValue(forKey: "embeddings") else {
            Issue.record("no embeddings in the result")
            return
        }
        let embedding = output.data.withUnsafeBytes { SecureBytes(copying: $0) }
        PlaintextWipe.wipe(&output.data)  // the client's own parse copy
        #expect(output.shape == [1, 384] && embedding.count == 384 * 4)
        await core.stop()
        #expect(scanning.findings.names.withLock { $0 }.isEmpty, "found while the request was served: \(scanning.findings.names.withLock { $0 })")

        let map = try ProcessMemoryMap()
        for (name, needle) in needles + [("embedding", embedding.slice(0..<64))] {
            let found = needle.withUnsafeBytes { map.unlockedMappings(containing: $0) }
            #expect(found.isEmpty, "\(name) found in unlocked memory at mappings \(found.map { String($0, radix: 16) })")
        }
    }

    /// The same for a text of accented capitals (À…Ý, precomposed, two UTF-8 bytes each), which the tokenizer
    /// lower-cases, decomposes and strips scalar by scalar: neither the text as sent, nor its lower-cased
    /// accented form, nor its stripped form (bytes or scalars) is left in unlocked memory.
    @Test func anAccentedTextLeavesNoPlaintextInUnlockedMemory() async throws {
        // Capital with accent → its base letter (U+00C0…U+00DD; Ð, ×, Ø have no accent to strip).
        let table: [(UInt8, UInt8)] = [(0xC0, 0x61), (0xC1, 0x61), (0xC2, 0x61), (0xC3, 0x61), (0xC4, 0x61), (0xC5, 0x61),
                                       (0xC7, 0x63), (0xC8, 0x65), (0xC9, 0x65), (0xCA, 0x65), (0xCB, 0x65), (0xCC, 0x69),
                                       (0xCD, 0x69), (0xCE, 0x69), (0xCF, 0x69), (0xD1, 0x6E), (0xD2, 0x6F), (0xD3, 0x6F),
                                       (0xD4, 0x6F), (0xD5, 0x6F), (0xD6, 0x6F), (0xD9, 0x75), (0xDA, 0x75), (0xDB, 0x75),
                                       (0xDC, 0x75), (0xDD, 0x79)]
        let choices = SecureBytes.random(count: 16)
        var sent = SecureBytes(count: 32), lowered = SecureBytes(count: 32)
        var stripped = SecureBytes(count: 16), strippedScalars = SecureBytes(count: 64)
        choices.withUnsafeBytes { choices in
            sent.withUnsafeMutableBytes { sent in
                lowered.withUnsafeMutableBytes { lowered in
                    stripped.withUnsafeMutableBytes { stripped in
                        strippedScalars.withUnsafeMutableBytes { wide in
                            for index in 0..<16 {
                                let (capital, base) = table[Int(choices[index]) % table.count]
                                sent[2 * index] = 0xC3
                                sent[2 * index + 1] = 0x80 | (capital & 0x3F)
                                lowered[2 * index] = 0xC3
                                lowered[2 * index + 1] = 0x80 | ((capital + 0x20) & 0x3F)
                                stripped[index] = base
                                wide.storeBytes(of: UInt32(base).littleEndian, toByteOffset: index * 4, as: UInt32.self)
                            }
                        }
                    }
                }
            }
        }
        var text = sent
        let words = try MiniLMServing.vocabulary.get().split(separator: "\n")
            .filter { $0.count >= 5 && $0.utf8.allSatisfy { (0x61...0x7A).contains($0) } }
        for _ in 0..<300 {
            var word = " " + words[Int(SecureRandom.bytes(count: 2).withUnsafeBytes { $0.load(as: UInt16.self) }) % words.count]
            word.withUTF8 { Self.append(&text, UnsafeRawBufferPointer($0)) }
        }
        try await Self.serve(text, needles: [("accented marker", sent), ("lower-cased accented marker", lowered),
                                             ("stripped marker", stripped), ("stripped marker scalars", strippedScalars)])
    }

    /// The embeddings a text request returns are built in locked memory, and match the tokenizer + encoder
    /// run on the same texts.
    @Test func embeddingsAreBuiltInLockedMemory() throws {
        let pipeline = try MiniLMServing.pipeline.get()
        let texts = TextBatch(copying: ["A patient record: blood pressure 140/90.", "Wire transfer of $9,950."])
        let outputs = try pipeline.embed(texts: texts)
        let embeddings = try #require(outputs["embeddings"])
        #expect(embeddings.shape == [2, 384])
        #expect(embeddings.data.secureBytes.memoryProtection == .all)
        let map = try ProcessMemoryMap()
        let mapping = try #require(embeddings.data.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(mapping.isSecretMemory, "VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
        #expect(embeddings == (try pipeline.embed(["A patient record: blood pressure 140/90.", "Wire transfer of $9,950."])))
    }
}
