import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import EnclaveInference
import Foundation
import Testing
@testable import EnclaveRuntime

/// The text side of the execution loop: which payloads a sentence-embedding image accepts, the limits on
/// texts (each refusal names its input), and the load-time refusal of a model the executor cannot run.
@Suite struct TextPipelineTests {
    static let limits = TextLimits(maxTexts: 4, maxTextBytes: 32)

    static func payload(texts: [String] = [], tensors: [String] = []) throws -> SecureBytes {
        var payload = Enclava_V1_InferPayload()
        payload.texts = texts
        for name in tensors {
            var tensor = Enclava_V1_Tensor()
            tensor.dtype = .int64
            tensor.shape = [1, 1]
            tensor.data = Data(count: 8)
            payload.inputs[name] = tensor
        }
        return SecureBytes(try payload.serializedBytes() as [UInt8])
    }

    /// The texts of a batch as `String`s (a test's copy).
    static func strings(_ batch: TextBatch) -> [String] {
        var strings: [String] = []
        batch.forEachText { _, bytes in strings.append(String(decoding: bytes, as: UTF8.self)) }
        return strings
    }

    /// The refusal of a prepared job, or nil when it was accepted.
    static func refusal(_ prepared: InferenceJob.Prepared) -> (reason: String, input: String?)? {
        if case .refused(let info) = prepared { return (info.reason, info.metadata["input"]) }
        return nil
    }

    @Test(arguments: 0...6)
    func textCountsAreHeldToMaxTexts(count: Int) throws {
        let texts = (0..<count).map { "text \($0)" }
        let prepared = InferenceJob.prepare(try Self.payload(texts: texts), limits: TensorLimits(), textLimits: Self.limits)
        if (1...Self.limits.maxTexts).contains(count) {
            guard case .texts(let accepted) = prepared else { Issue.record("refused \(count) texts: \(prepared)"); return }
            #expect(Self.strings(accepted) == texts)
        } else {
            let refusal = try #require(Self.refusal(prepared))
            #expect(refusal.reason == RuntimeReason.invalidArgument)
            #expect(refusal.input == "texts")
        }
    }

    @Test(arguments: [0, 1, 31, 32, 33, 1000])
    func textBytesAreHeldToMaxTextBytes(bytes: Int) throws {
        // Multi-byte characters: the limit counts UTF-8 bytes, not characters.
        let long = String(repeating: "é", count: bytes / 2) + String(repeating: "a", count: bytes % 2)
        #expect(long.utf8.count == bytes)
        let prepared = InferenceJob.prepare(try Self.payload(texts: ["ok", long]), limits: TensorLimits(), textLimits: Self.limits)
        if bytes <= Self.limits.maxTextBytes {
            #expect(Self.refusal(prepared) == nil)
        } else {
            let refusal = try #require(Self.refusal(prepared))
            #expect(refusal.reason == RuntimeReason.invalidArgument)
            #expect(refusal.input == "texts[1]")
        }
    }

    @Test func aTextImageRefusesTensorsAndATensorImageRefusesTexts() throws {
        let tensors = InferenceJob.prepare(try Self.payload(texts: ["hello"], tensors: ["input_ids"]), limits: TensorLimits(),
                                           textLimits: Self.limits)
        #expect(Self.refusal(tensors)?.reason == RuntimeReason.tensorsNotSupported)
        #expect(Self.refusal(tensors)?.input == "input_ids")
        let texts = InferenceJob.prepare(try Self.payload(texts: ["hello"], tensors: ["features"]), limits: TensorLimits())
        #expect(Self.refusal(texts)?.reason == RuntimeReason.textsNotSupported)
    }

    @Test func loadRefusesAModelWithUnsupportedOperatorsListingEverything() async throws {
        let world = try EndToEndWorld.shared.get()
        let folder = try makeTemporaryDirectory("enclava-rt-badmodel")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The demo model with both Relu nodes and the Softmax renamed and its opset lowered to 11: same-length
        // edits keep the protobuf valid, so only the executor can object. (`enclava package` would refuse it;
        // the library packager does not check models, which is what lets this image reach the runtime.)
        var model = [UInt8](try Data(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("model.onnx")))
        var renamed = 0
        for (from, to) in [("Relu", "Rulu"), ("Softmax", "Softmix")] {
            renamed += replaceAll(Array(from.utf8), with: Array(to.utf8), in: &model)
        }
        try #require(renamed == 3)
        try #require(Array(model.suffix(2)) == [0x10, 13])   // opset_import.version = 13, last in the file
        model[model.count - 1] = 11
        try Data(model).write(to: URL(fileURLWithPath: folder + "/model.onnx"))
        try "[image]\nname = \"bad\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n[keys]\nrelease = \"sealed\"\n"
            .write(toFile: folder + "/manifest.toml", atomically: true, encoding: .utf8)
        _ = try EndToEndWorld.package(manifest: folder + "/manifest.toml", output: folder + "/bad.eimg",
                                      simulated: world.simulated, measurement: world.platform.measurement, signer: world.signer)
        let error = try await #require(throws: RuntimeError.self) { _ = try await world.startRuntime(imagePath: folder + "/bad.eimg") }
        #expect(error.code == .modelInvalid)
        for phrase in ["ONNX opset 11", "Rulu", "Softmix"] { #expect(error.message.contains(phrase), "\(error.message)") }
    }

    private func replaceAll(_ pattern: [UInt8], with replacement: [UInt8], in bytes: inout [UInt8]) -> Int {
        var count = 0
        var index = 0
        while index + pattern.count <= bytes.count {
            if Array(bytes[index..<(index + pattern.count)]) == pattern {
                bytes.replaceSubrange(index..<(index + pattern.count), with: replacement)
                count += 1
                index += pattern.count
            } else {
                index += 1
            }
        }
        return count
    }
}
