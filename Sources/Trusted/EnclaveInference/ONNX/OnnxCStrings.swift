internal import COnnx

/// Small readers over protobuf-c's C structures (arrays of pointers, optional strings).
enum OnnxC {
    /// `char *` → String; protobuf-c leaves absent optional strings NULL or pointing at "".
    static func string(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    /// A repeated message field → its element pointers.
    /// - Throws: ``InferenceError`` `malformedModel` if an element is NULL (protobuf-c never produces one).
    static func messages<T>(_ base: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int,
                            _ what: String) throws -> [UnsafeMutablePointer<T>] {
        guard count > 0 else { return [] }
        guard let base else { throw InferenceError.malformed("the model's \(what) list is missing") }
        return try (0..<count).map { index in
            guard let element = base[index] else { throw InferenceError.malformed("the model has an empty \(what) entry") }
            return element
        }
    }

    /// A repeated string field → Strings.
    static func strings(_ base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
        guard count > 0, let base else { return [] }
        return (0..<count).map { string(base[$0]) }
    }

    /// A repeated scalar field → a Swift array.
    static func values<T>(_ base: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard count > 0, let base else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// A `bytes` field → UTF-8 text.
    static func text(_ data: ProtobufCBinaryData) -> String {
        guard data.len > 0, let pointer = data.data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: data.len), as: UTF8.self)
    }

    /// The refusal in an `enclava_onnx_error` as an ``InferenceError``.
    static func error(_ error: inout enclava_onnx_error, context: String) -> InferenceError {
        let message = withUnsafeBytes(of: &error.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let text = message.isEmpty ? "the \(context) could not be decoded" : message
        if error.kind == ENCLAVA_ONNX_LIMIT {
            return InferenceError.limit("\(context): \(text); raise ModelLimits if this is expected")
        }
        return InferenceError.malformed("\(context): \(text)")
    }
}
