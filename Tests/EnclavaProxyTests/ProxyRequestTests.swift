import EnclavaProxy
import EnclavaWire
import Foundation
import Testing

/// The proxy's request parsing, answers and listen rule, without I/O.
@Suite struct ProxyRequestTests {
    func body(_ object: [String: Any]) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: object)) }

    @Test func embeddingsTakeAStringOrAListOfStrings() throws {
        let one = try EmbeddingsRequest(json: try body(["model": "m", "input": "hello"]), maxTexts: 8)
        #expect(one.input == ["hello"])
        #expect(one.encodingFormat == "float")
        let many = try EmbeddingsRequest(json: try body(["model": "m", "input": ["a", "b"], "encoding_format": "base64", "user": "u"]),
                                         maxTexts: 8)
        #expect(many.input == ["a", "b"])
        #expect(many.encodingFormat == "base64")
    }

    @Test(arguments: [
        (#"{"input": ["a"]}"#, "`model` is required"),
        (#"{"model": "m", "input": [1, 2, 3]}"#, "token arrays are not supported"),
        (#"{"model": "m", "input": []}"#, "`input` is empty"),
        (#"{"model": "m", "input": "a", "dimensions": 8}"#, "`dimensions` is not supported"),
        (#"{"model": "m", "input": "a", "encoding_format": "int8"}"#, "`encoding_format` must be"),
        (#"{"model": "m", "input": ["a", "b", "c"]}"#, "at most 2 per request"),
        ("[1, 2]", "not a JSON object"),
    ])
    func aBadEmbeddingsBodyIsAnInvalidRequestNamingTheField(json: String, message: String) {
        let error = #expect(throws: ProxyError.self) { try EmbeddingsRequest(json: Array(json.utf8), maxTexts: 2) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.httpStatus == 400)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func base64EmbeddingsAreLittleEndianFloat32() throws {
        let request = try EmbeddingsRequest(json: try body(["model": "m", "input": "x", "encoding_format": "base64"]), maxTexts: 1)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(request.responseBody(embeddings: [[1.0, -0.5]])))
                                    as? [String: Any])
        let item = try #require((answer["data"] as? [[String: Any]])?.first)
        let text = try #require(item["embedding"] as? String)
        let bytes = [UInt8](try #require(Data(base64Encoded: text)))
        #expect(bytes == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xBF])
        #expect(answer["object"] as? String == "list")
        #expect(item["object"] as? String == "embedding")
        #expect((answer["usage"] as? [String: Any])?["total_tokens"] as? Int == 0)
    }

    @Test func tensorRequestsUseTheCLIsJSON() throws {
        let request = try TensorInferRequest(json: Array(#"{"model": "fraud", "inputs": {"x": {"dtype": "int64", "shape": [1, 2], "data": [3, 4]}, "y": [[0.5]]}}"#.utf8),
                                             maxTexts: 4)
        #expect(request.model == "fraud")
        #expect(request.inputs["x"]?.shape == [1, 2])
        #expect(request.inputs["y"]?.shape == [1, 1])
        let error = #expect(throws: ProxyError.self) {
            try TensorInferRequest(json: Array(#"{"model": "fraud", "inputs": {"x": {"dtype": "float64", "shape": [1], "data": [1]}}}"#.utf8), maxTexts: 4)
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.hasPrefix("inputs.x:") == true)
    }

    @Test(arguments: ["127.0.0.1", "127.9.8.7", "::1", "[::1]", "localhost", "LOCALHOST"])
    func loopbackAddressesAreAccepted(host: String) throws {
        #expect(ProxyConfiguration.isLoopback(host))
        try ProxyConfiguration(listenHost: host, listenPort: 0).validate()
    }

    @Test(arguments: ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "192.168.1.2", "example.com", ""])
    func otherAddressesNeedAllowRemote(host: String) throws {
        let error = #expect(throws: ProxyError.self) { try ProxyConfiguration(listenHost: host, listenPort: 8080).validate() }
        #expect(error?.code == .remoteListenRefused)
        #expect(error?.message.contains("--allow-remote") == true)
        var allowed = ProxyConfiguration(listenHost: host, listenPort: 8080)
        allowed.allowRemote = true
        try allowed.validate()
    }

    @Test func errorsHaveOpenAIsShape() throws {
        let error = ProxyError(.modelNotFound, "no such model")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(error.openAIBody)) as? [String: Any])
        let inner = try #require(object["error"] as? [String: Any])
        #expect(inner["code"] as? String == "model_not_found")
        #expect(inner["type"] as? String == "invalid_request_error")
        #expect(inner["message"] as? String == "no such model")
        #expect(inner["param"] is NSNull)
        #expect(error.httpStatus == 404)
    }
}
