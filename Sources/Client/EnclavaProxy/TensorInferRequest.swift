import EnclavaClient
import EnclavaWire
import Foundation

/// The proxy's `POST /v1/infer` request, in the CLI's JSON tensor format (`enclava infer --input NAME=JSON`):
/// `{"model": NAME, "inputs": {NAME: {"dtype", "shape", "data"} | nested array}, "texts"?: ["…"]}`. The answer is
/// `enclava infer --json`'s document: `{"outputs": {NAME: tensor}, "enclave": {…}}`.
public struct TensorInferRequest: Sendable {
    /// The model (image) name; may be absent when one model is served.
    public var model: String?
    /// The named input tensors.
    public var inputs: [String: Enclava_V1_Tensor]
    /// Texts, for text pipelines.
    public var texts: [String]

    /// Parses a request body.
    /// - Throws: ``ProxyError`` `invalidRequest` naming the field.
    public init(json body: [UInt8], maxTexts: Int) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw ProxyError(.invalidRequest, "the body is not a JSON object; send {\"model\": NAME, \"inputs\": {NAME: tensor}}")
        }
        let known: Set<String> = ["model", "inputs", "texts"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ProxyError(.invalidRequest, "`\(unknown)` is not supported; send model, inputs and texts")
        }
        guard object["model"] == nil || object["model"] is String else {
            throw ProxyError(.invalidRequest, "`model` must be a string: the served model's name")
        }
        model = object["model"] as? String
        guard let rawInputs = (object["inputs"] ?? [String: Any]()) as? [String: Any] else {
            throw ProxyError(.invalidRequest, "`inputs` must be an object of NAME: tensor")
        }
        var inputs: [String: Enclava_V1_Tensor] = [:]
        for (name, value) in rawInputs {
            guard JSONSerialization.isValidJSONObject(value) || value is [Any],
                  let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else {
                throw ProxyError(.invalidRequest, "inputs.\(name) is not a tensor: give {\"dtype\",\"shape\",\"data\"} or a nested array")
            }
            do {
                inputs[name] = try TensorJSON.tensor(fromJSON: String(decoding: data, as: UTF8.self))
            } catch let error as ClientError {
                throw ProxyError(.invalidRequest, "inputs.\(name): \(error.message)")
            }
        }
        self.inputs = inputs
        guard object["texts"] == nil || object["texts"] is [String] else {
            throw ProxyError(.invalidRequest, "`texts` must be an array of strings")
        }
        texts = object["texts"] as? [String] ?? []
        guard texts.count <= maxTexts else {
            throw ProxyError(.invalidRequest, "`texts` has \(texts.count) texts; at most \(maxTexts) per request")
        }
        guard !inputs.isEmpty || !texts.isEmpty else {
            throw ProxyError(.invalidRequest, "send `inputs` (tensor models) or `texts` (text pipelines)")
        }
    }
}
