import EnclavaWire
import Foundation

extension ConfidentialSession {
    /// Runs the model named `model` on named input tensors inside the enclave.
    ///
    /// The inputs are encrypted to the verified enclave; only the enclave can read them, and only this
    /// session can read the outputs. Calls are serialized, so one session can be shared by many tasks.
    /// - Parameters:
    ///   - model: the served image's `[image] name` (checked by ``checkModel(_:)`` before anything is sent).
    ///   - inputs: the model's inputs by name.
    /// - Returns: the model's outputs by name.
    /// - Throws: ``ClientError``: `unknownModel` when this session's enclave does not serve `model`,
    ///   `modelRejected` with the enclave's reason and message when the model refused the inputs (e.g. a wrong
    ///   shape), `remote` for an enclave or transport error, `invalidInput` for an input the client cannot send.
    public func runInference(model: String, inputs: [String: Tensor]) async throws -> [String: Tensor] {
        try checkModel(model)
        guard !inputs.isEmpty else {
            throw ClientError(.invalidInput, "no inputs given; pass the model's named input tensors (`enclava inspect` lists them)")
        }
        return try await run(inputs: inputs.mapValues(\.wire), texts: [])
    }

    /// Runs a text pipeline (e.g. sentence embeddings) named `model` on `texts` inside the enclave.
    /// - Parameters:
    ///   - model: the served image's `[image] name`.
    ///   - texts: the texts, each UTF-8; the manifest bounds their number and length.
    /// - Returns: the pipeline's outputs by name (e.g. `embeddings`, one row per text).
    /// - Throws: ``ClientError`` as ``runInference(model:inputs:)``.
    public func runInference(model: String, texts: [String]) async throws -> [String: Tensor] {
        try checkModel(model)
        guard !texts.isEmpty else { throw ClientError(.invalidInput, "no texts given; pass at least one text") }
        return try await run(inputs: [:], texts: texts)
    }

    /// Runs a text pipeline on one text.
    /// - Throws: ``ClientError`` as ``runInference(model:inputs:)``.
    public func runInference(model: String, text: String) async throws -> [String: Tensor] {
        try await runInference(model: model, texts: [text])
    }

    /// The request path of `enclava infer` (``infer(_:texts:)``), with the outputs checked into ``Tensor``s.
    private func run(inputs: [String: Enclava_V1_Tensor], texts: [String]) async throws -> [String: Tensor] {
        let outputs = try await infer(inputs, texts: texts)
        var result: [String: Tensor] = [:]
        for (name, tensor) in outputs { result[name] = try Tensor(wire: tensor, name: name) }
        return result
    }
}
