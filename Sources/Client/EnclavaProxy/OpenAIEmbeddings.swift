import Foundation

/// OpenAI's `POST /v1/embeddings` request: `{"model", "input": "text" | ["text", …], "encoding_format"?}`.
/// Other OpenAI fields (`user`, `dimensions`) are refused rather than ignored, except `user`, which is dropped.
public struct EmbeddingsRequest: Sendable, Equatable {
    /// The model (image) name.
    public var model: String
    /// The texts, in order.
    public var input: [String]
    /// `float` (default) or `base64` (little-endian float32, what the `openai` Python package asks for).
    public var encodingFormat: String

    /// Parses a request body.
    /// - Throws: ``ProxyError`` `invalidRequest` naming the field.
    public init(json body: [UInt8], maxTexts: Int) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw ProxyError(.invalidRequest, "the body is not a JSON object; send {\"model\": NAME, \"input\": [\"text\", …]}")
        }
        let known: Set<String> = ["model", "input", "encoding_format", "user"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ProxyError(.invalidRequest, "`\(unknown)` is not supported; send model, input and encoding_format")
        }
        guard let model = object["model"] as? String else {
            throw ProxyError(.invalidRequest, "`model` is required: the served model's name (the image's [image] name)")
        }
        self.model = model
        if let text = object["input"] as? String {
            input = [text]
        } else if let texts = object["input"] as? [Any], let strings = texts as? [String] {
            input = strings
        } else {
            throw ProxyError(.invalidRequest, "`input` must be a string or an array of strings (token arrays are not supported: "
                                 + "the tokenizer runs inside the enclave)")
        }
        guard !input.isEmpty else { throw ProxyError(.invalidRequest, "`input` is empty; send at least one text") }
        guard input.count <= maxTexts else {
            throw ProxyError(.invalidRequest, "`input` has \(input.count) texts; at most \(maxTexts) per request")
        }
        let format = object["encoding_format"] as? String ?? "float"
        guard object["encoding_format"] == nil || object["encoding_format"] is String, ["float", "base64"].contains(format) else {
            throw ProxyError(.invalidRequest, "`encoding_format` must be \"float\" or \"base64\"")
        }
        encodingFormat = format
    }

    /// The response body: `{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
    /// "usage": {"prompt_tokens", "total_tokens"}}`. Token counts are 0: the tokenizer runs inside the enclave,
    /// and its counts do not leave it.
    public func responseBody(embeddings: [[Float]]) -> [UInt8] {
        var data: [[String: Any]] = []
        for (index, vector) in embeddings.enumerated() {
            let embedding: Any
            if encodingFormat == "base64" {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(vector.count * 4)
                for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
                embedding = Data(bytes).base64EncodedString()
            } else {
                embedding = vector.map { Double($0) }
            }
            data.append(["object": "embedding", "index": index, "embedding": embedding])
        }
        let object: [String: Any] = ["object": "list", "data": data, "model": model,
                                     "usage": ["prompt_tokens": 0, "total_tokens": 0]]
        return Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }
}
