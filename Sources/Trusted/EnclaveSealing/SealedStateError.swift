/// Why sealed state could not be made or opened, with a stable code and a sentence that says what happens next.
///
/// Every code of an opening failure means the same for the runtime: ignore the blob, release the key again
/// (owner or broker), and replace the blob after that release.
public struct SealedStateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable error codes.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The blob does not start with `ENCLSEAL`.
        case badMagic = "SEALED_STATE_BAD_MAGIC"
        /// The blob's format version is not one this build reads.
        case unsupportedVersion = "SEALED_STATE_UNSUPPORTED_VERSION"
        /// The blob ends before its fields do.
        case truncated = "SEALED_STATE_TRUNCATED"
        /// Bytes follow the blob's last field.
        case trailingBytes = "SEALED_STATE_TRAILING_BYTES"
        /// The blob is larger than any sealed state (checked before it is parsed).
        case tooLarge = "SEALED_STATE_TOO_LARGE"
        /// A field holds a value no writer produces: a length out of range, an unknown policy, a bad name.
        case malformed = "SEALED_STATE_MALFORMED"
        /// The blob was sealed for another image (manifest digest).
        case otherImage = "SEALED_STATE_OTHER_IMAGE"
        /// The blob was sealed on another backend.
        case otherBackend = "SEALED_STATE_OTHER_BACKEND"
        /// The blob was sealed under another `seal_to` policy than the image now asks for.
        case otherPolicy = "SEALED_STATE_OTHER_POLICY"
        /// The blob was sealed for another enclave identity (measurement, or signer).
        case otherEnclave = "SEALED_STATE_OTHER_ENCLAVE"
        /// The blob was sealed under another TCB than the platform's current one (firmware or microcode update,
        /// or a rollback).
        case tcbChanged = "SEALED_STATE_TCB_CHANGED"
        /// Authenticated decryption failed: another machine's key, or the blob was altered.
        case unsealFailed = "SEALED_STATE_UNSEAL_FAILED"
        /// The platform has no sealing key (TDX): every start is a release.
        case noSealingKey = "NO_SEALING_KEY"
        /// The image's `seal_to` policy cannot be honoured on this platform.
        case policyUnsupported = "SEAL_TO_UNSUPPORTED"
        /// The platform could not derive the sealing key (device or file failure).
        case keyUnavailable = "SEALING_KEY_UNAVAILABLE"
        /// The sealed-state file could not be read.
        case unreadable = "SEALED_STATE_UNREADABLE"
        /// The sealed-state file could not be written.
        case unwritable = "SEALED_STATE_UNWRITABLE"
        /// A caller passed a value that cannot be sealed (a DEK or digest of the wrong size).
        case invalidArgument = "SEALED_STATE_INVALID_ARGUMENT"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what happens or what to do.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    /// An error.
    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// Equal codes and messages (the source location is not compared).
    public static func == (lhs: SealedStateError, rhs: SealedStateError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
