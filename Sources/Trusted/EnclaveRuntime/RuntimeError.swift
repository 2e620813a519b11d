/// A startup failure of the enclave runtime: a stable code and one line that names the problem and the fix.
/// Never carries a secret.
public struct RuntimeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable codes.
    public enum Code: String, Sendable, Equatable {
        /// A command-line option is malformed (e.g. `--listen`).
        case invalidOption = "INVALID_OPTION"
        /// `--backend` names a backend this build does not support.
        case unsupportedBackend = "UNSUPPORTED_BACKEND"
        /// The platform could not be set up (e.g. the simulated platform was never initialised).
        case platformUnavailable = "PLATFORM_UNAVAILABLE"
        /// The image could not be opened or its signature does not verify.
        case imageInvalid = "IMAGE_INVALID"
        /// The image is signed by another key than the one pinned with `--signer-fingerprint`.
        case wrongSigner = "WRONG_SIGNER"
        /// The image's key is released by a source this runtime cannot use yet (a key broker).
        case keyReleaseUnsupported = "KEY_RELEASE_UNSUPPORTED"
        /// The image carries no key sealed for this platform.
        case noSealedKey = "NO_SEALED_KEY"
        /// The sealed key does not open: the image was sealed for another measurement or platform.
        case unsealFailed = "UNSEAL_FAILED"
        /// Sealed memory could not be set up (RLIMIT_MEMLOCK too small, out of memory).
        case sealedMemory = "SEALED_MEMORY"
        /// `--allow-unlocked-memory` was given to a hardware backend, which always keeps secrets locked.
        case unlockedMemoryRefused = "UNLOCKED_MEMORY_REFUSED"
        /// The model could not be decrypted or loaded.
        case modelInvalid = "MODEL_INVALID"
        /// The listening socket could not be bound.
        case listenFailed = "LISTEN_FAILED"
    }

    /// The stable code.
    public let code: Code
    /// One line: what failed and what to do.
    public let message: String
    /// Where it was raised (for us).
    public let file: String
    /// The line where it was raised.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.file = file
        self.line = line
    }

    public var description: String { message }

    /// Errors are equal when code and message are; the location is ignored.
    public static func == (lhs: RuntimeError, rhs: RuntimeError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
