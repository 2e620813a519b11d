/// A problem reading, writing, verifying or decrypting an enclave image or a key file.
///
/// The description is one line that names the file and says what to do, suitable for a CLI.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Equatable {
        /// A file does not exist or cannot be read.
        case fileUnreadable
        /// The output (image or key file) could not be written.
        case outputUnwritable
        /// The image ends before the lengths in it say it should.
        case truncated
        /// The file does not start with `ENCLAVA1`: it is not an enclave image.
        case badMagic
        /// The header cannot be decoded, or its fields are inconsistent.
        case corruptHeader
        /// The header's signature does not verify under the key it names.
        case signatureInvalid
        /// The image uses a format version or algorithm this build does not know.
        case unsupportedVersion
        /// The header is validly signed, but by a different key than expected.
        case wrongSigner
        /// An asset failed authentication or its plaintext hash does not match the header.
        case assetCorrupt
        /// A sealed data-encryption key could not be unsealed (wrong platform, measurement or image).
        case unsealFailed
        /// An owner key does not belong to this image, or a key file is malformed.
        case wrongKey
        /// A signer key file does not hold an ECDSA P-384 private key.
        case invalidSignerKey
        /// A caller passed an argument that cannot work (e.g. a buffer of the wrong size).
        case invalidArgument
    }

    /// The stable error code.
    public let code: Code
    /// What is wrong and what to do about it.
    public let message: String
    /// The file concerned, if any.
    public let path: String?
    /// Where in Enclava the error was raised.
    public let file: String
    /// The source line in Enclava that raised the error.
    public let line: Int

    /// Creates an image error.
    public init(_ code: Code, _ message: String, path: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.path = path
        self.file = file
        self.line = line
    }

    /// `path: message`, or just the message.
    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}
