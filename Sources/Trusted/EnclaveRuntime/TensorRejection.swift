import EnclavaWire

/// A tensor the enclave refuses, naming the input; it travels back inside the encrypted `InferResult`.
public struct TensorRejection: Error, Sendable, Equatable {
    /// The stable reason (``RuntimeReason/invalidTensor``).
    public let reason: String
    /// The input's name ("" when the request as a whole is at fault).
    public let input: String
    /// What is wrong and what to send instead.
    public let message: String

    init(input: String, _ message: String, reason: String = RuntimeReason.invalidTensor) {
        self.reason = reason
        self.input = input
        self.message = message
    }

    /// The `ErrorInfo` sent in the encrypted result.
    public var errorInfo: Enclava_V1_ErrorInfo {
        var info = Enclava_V1_ErrorInfo()
        info.reason = reason
        info.message = message
        if !input.isEmpty { info.metadata = ["input": input] }
        return info
    }
}
