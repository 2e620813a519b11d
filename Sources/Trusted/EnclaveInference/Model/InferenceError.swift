/// An error from loading or running a model, with a stable ``code`` and a sentence that says what to do.
public struct InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable error codes (their raw values are part of the API: logs and the wire use them).
    public enum Code: String, Sendable, Equatable {
        /// The file is not a valid ONNX model: not protobuf, truncated, inconsistent, cyclic, or it refers
        /// to values nothing defines.
        case malformedModel = "MALFORMED_MODEL"
        /// The graph uses operators Enclava does not implement; ``InferenceError/operators`` lists all of them.
        case unsupportedOperator = "UNSUPPORTED_OPERATOR"
        /// The model imports an opset version (or domain) Enclava does not implement.
        case unsupportedOpset = "UNSUPPORTED_OPSET"
        /// The model uses an element type Enclava does not support (for example float16 or strings).
        case unsupportedDataType = "UNSUPPORTED_DATA_TYPE"
        /// A request's input is wrong: unknown or missing name, wrong type, rank, shape or byte count.
        case invalidArgument = "INVALID_ARGUMENT"
        /// A limit was reached: model size, node count, tensor size, workspace, or sealed memory.
        case resourceLimit = "RESOURCE_LIMIT"
    }

    /// The stable code.
    public let code: Code
    /// What went wrong and what to do.
    public let message: String
    /// For ``Code/unsupportedOperator``: every missing operator, sorted (`"com.example:Foo"` for other domains).
    public let operators: [String]
    /// For ``Code/invalidArgument``: the input that is wrong.
    public let inputName: String?
    /// Where the error was raised (for us, not for users).
    public let fileID: String
    public let line: Int

    init(_ code: Code, _ message: String, operators: [String] = [], inputName: String? = nil,
         fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.operators = operators
        self.inputName = inputName
        self.fileID = fileID
        self.line = line
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: InferenceError, rhs: InferenceError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.operators == rhs.operators && lhs.inputName == rhs.inputName
    }

    static func malformed(_ message: String, fileID: String = #fileID, line: Int = #line) -> InferenceError {
        InferenceError(.malformedModel, message, fileID: fileID, line: line)
    }

    static func invalidInput(_ name: String, _ message: String, fileID: String = #fileID, line: Int = #line) -> InferenceError {
        InferenceError(.invalidArgument, "input '\(name)': \(message)", inputName: name, fileID: fileID, line: line)
    }

    static func limit(_ message: String, fileID: String = #fileID, line: Int = #line) -> InferenceError {
        InferenceError(.resourceLimit, message, fileID: fileID, line: line)
    }
}
