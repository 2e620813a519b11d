import EnclavaWire
import Foundation

extension ConfidentialSession {
    /// Runs a single-input model on one tensor, sent under the model's only input name.
    ///
    /// The client does not hold the model's input names (the policy pins the manifest digest, not the graph), so
    /// the first such call asks the enclave: it sends an empty request under a name no model has and reads the names
    /// from the enclave's refusal, which lists the model's inputs (`INVALID_TENSOR`, "its inputs are 'features'
    /// float32 [N, 8]"). The answer is encrypted by the verified enclave, and no data of the caller is sent with it.
    /// The names are kept for the session.
    /// - Throws: ``ClientError`` `invalidInput` when the model has more than one input (name them with
    ///   ``runInference(model:inputs:)``), and the errors of ``runInference(model:inputs:)``.
    public func runInference(model: String, input: Tensor) async throws -> [String: Tensor] {
        try checkModel(model)
        let names = try await modelInputNames()
        guard names.count == 1 else {
            throw ClientError(.invalidInput, "the model `\(model)` has \(names.count) inputs (\(names.joined(separator: ", "))); "
                              + "pass them by name")
        }
        return try await runInference(model: model, inputs: [names[0]: input])
    }

    /// The model's input names, asked of the enclave once per session (see ``runInference(model:input:)``).
    /// - Throws: ``ClientError`` `remote` or `invalidEvidenceResponse` when the enclave's answer names no inputs.
    public func modelInputNames() async throws -> [String] {
        if let inputNames { return inputNames }
        var probe = Enclava_V1_Tensor()
        probe.dtype = .float32
        probe.shape = [0]
        do {
            _ = try await infer([Self.probeInputName: probe])
        } catch let error as ClientError where error.code == .modelRejected {
            let names = Self.inputNames(inRefusal: error.message)
            guard !names.isEmpty else {
                throw ClientError(.invalidEvidenceResponse, "the enclave did not list the model's inputs (\(error.message)); "
                                  + "pass the inputs by name")
            }
            inputNames = names
            return names
        }
        throw ClientError(.invalidEvidenceResponse, "the enclave accepted an input named `\(Self.probeInputName)`; "
                          + "pass the inputs by name")
    }

    /// A name no model input has (ONNX names are identifiers; this one holds a space and a NUL-free marker).
    static let probeInputName = "enclava probe: no such input"

    /// The names in an `INVALID_TENSOR` refusal's "its inputs are 'a' float32 [N, 8], 'b' int64 [N]".
    static func inputNames(inRefusal message: String) -> [String] {
        guard let range = message.range(of: "its inputs are ") else { return [] }
        var names: [String] = []
        var rest = message[range.upperBound...]
        while let open = rest.firstIndex(of: "'") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "'") else { break }
            names.append(String(rest[afterOpen..<close]))
            // Skip the dtype and shape up to the next spec (", '").
            let tail = rest[rest.index(after: close)...]
            guard let next = tail.range(of: ", '") else { break }
            rest = tail[tail.index(before: next.upperBound)...]
        }
        return names
    }
}
