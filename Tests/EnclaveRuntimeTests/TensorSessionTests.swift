import EnclavaClient
import EnclavaWire
import Foundation
import Testing
@testable import EnclaveRuntime

/// The public Swift API (`runInference(model:…)` over ``Tensor``) against a runtime in this process: the same
/// answers as the wire-level `infer`, the model name checked before anything is sent, refusals as values.
@Suite(.serialized) struct TensorSessionTests {
    let world: EndToEndWorld

    init() throws { world = try EndToEndWorld.shared.get() }

    /// The golden `features` input as a ``Tensor`` (from the wire tensor the golden file gives).
    func goldenFeatures() throws -> (Tensor, [Float], [Int]) {
        let golden = try Golden.load()
        let features = try #require(golden.inputs["features"])
        let expected = try #require(golden.outputs["probabilities"])
        let tensor = try Tensor(shape: features.shape.map { Int($0) }, float32: try #require(TensorJSON.floats(of: features)))
        return (tensor, try #require(TensorJSON.floats(of: expected)), expected.shape.map { Int($0) })
    }

    @Test func runInferenceMatchesTheGoldenOutputsByNameAndAsTheOnlyInput() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        let (features, want, shape) = try goldenFeatures()
        let byName = try await session.runInference(model: "fraud-detector", inputs: ["features": features])
        let probabilities = try #require(byName["probabilities"])
        #expect(probabilities.dtype == .float32 && probabilities.shape == shape)
        for (got, expected) in zip(try #require(probabilities.floats), want) { #expect(abs(got - expected) <= 1e-5) }
        // One unnamed input: the session asks the enclave for the model's input name once, then sends it under it.
        #expect(try await session.modelInputNames() == ["features"])
        let sequence = await session.nextRequestSequence
        let single = try await session.runInference(model: "fraud-detector", input: features)
        #expect(single == byName)
        #expect(await session.nextRequestSequence == sequence + 1, "the names are asked once per session")
        await session.close()
        await runtime.shutdown()
    }

    @Test func anUnknownModelIsRefusedBeforeAnythingIsSent() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        let (features, _, _) = try goldenFeatures()
        let error = await #expect(throws: ClientError.self) {
            _ = try await session.runInference(model: "your-private-model", inputs: ["features": features])
        }
        #expect(error?.code == .unknownModel)
        #expect(error?.message.contains("`fraud-detector`") == true, "\(error?.message ?? "")")
        let texts = await #expect(throws: ClientError.self) { _ = try await session.runInference(model: "minilm", texts: ["a"]) }
        #expect(texts?.code == .unknownModel)
        #expect(await session.nextRequestSequence == 0, "nothing was sent")
        await session.close()
        await runtime.shutdown()
    }

    @Test func aWrongShapeIsTheModelsRefusalAndTheSessionGoesOn() async throws {
        let (runtime, endpoint) = try await world.startRuntime()
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        let refusal = await #expect(throws: ClientError.self) {
            _ = try await session.runInference(model: "fraud-detector", inputs: ["features": try Tensor(shape: [1, 3], float32: [1, 2, 3])])
        }
        #expect(refusal?.code == .modelRejected)
        #expect(refusal?.reason == "INVALID_ARGUMENT")
        #expect(refusal?.message.contains("input 'features': dimension 1 must be 8, got 3") == true, "\(refusal?.message ?? "")")
        // A text request to a tensor model is refused too, and the session still answers.
        let texts = await #expect(throws: ClientError.self) { _ = try await session.runInference(model: "fraud-detector", text: "hello") }
        #expect(texts?.code == .modelRejected)
        let (features, _, _) = try goldenFeatures()
        _ = try await session.runInference(model: "fraud-detector", inputs: ["features": features])
        let empty = await #expect(throws: ClientError.self) { _ = try await session.runInference(model: "fraud-detector", inputs: [:]) }
        #expect(empty?.code == .invalidInput)
        await session.close()
        await runtime.shutdown()
    }
}
