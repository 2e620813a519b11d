internal import COpenSSL

/// An error from EnclavaCrypto: a stable ``code``, a sentence saying what went wrong and what to do,
/// and where in EnclavaCrypto it was raised.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable error codes of EnclavaCrypto. Match on these, never on ``CryptoError/message``.
    public enum Code: String, Sendable, Equatable {
        /// An AEAD tag or HPKE ciphertext did not authenticate: wrong key, tampered data or wrong AAD.
        case authenticationFailed
        /// A key was malformed, of the wrong size or type, or not on the expected curve.
        case invalidKey
        /// A signature could not be parsed.
        case invalidSignature
        /// An argument was out of range (length, nonce size, sequence number, encoding).
        case invalidInput
        /// A certificate could not be parsed or built.
        case certificateInvalid
        /// A certificate chain did not verify.
        case chainInvalid
        /// OpenSSL failed in a way that the caller cannot fix (usually out of memory).
        case internalFailure
    }

    /// The stable code.
    public let code: Code
    /// A human sentence: what failed and what to do next.
    public let message: String
    /// The source file (`#fileID`) that raised the error.
    public let file: String
    /// The source line that raised the error.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { "EnclavaCrypto.\(code.rawValue): \(message) (\(file):\(line))" }

    /// Two errors are equal when their codes and messages are equal; the raising location is ignored.
    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// An error whose message ends with OpenSSL's reasons from this thread's error queue (which it empties).
    static func openSSL(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) -> CryptoError {
        let reasons = OpenSSLErrors.drain()
        let text = reasons.isEmpty ? message : "\(message) (OpenSSL: \(reasons))"
        return CryptoError(code, text, file: file, line: line)
    }
}

/// Access to OpenSSL's per-thread error queue.
enum OpenSSLErrors {
    /// Empties the queue, returning its reasons joined by "; ".
    static func drain() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if reasons.count < 4 { reasons.append(text) }
        }
        return reasons.joined(separator: "; ")
    }

    /// Empties the queue without reading it, before an operation whose failures we report.
    static func clear() {
        ERR_clear_error()
    }
}

/// Stops the process when OpenSSL fails at something that cannot fail except on memory exhaustion.
func opensslFatal(_ what: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("EnclavaCrypto: OpenSSL failed to \(what): \(OpenSSLErrors.drain())", file: file, line: line)
}
