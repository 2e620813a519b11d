/// Why a launch measurement could not be computed: a stable ``code-swift.property``, a sentence naming the
/// input and what to change, and where it was raised (for us).
public struct MeasurementError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable error codes (the raw values never change; scripts match on them, never on the message).
    public enum Code: String, Sendable, CaseIterable {
        /// A file (firmware, kernel, initrd, bundle) is missing, unreadable or too large.
        case fileUnreadable = "FILE_UNREADABLE"
        /// The firmware image is malformed: size, GUIDed footer table, metadata bounds.
        case firmwareInvalid = "FIRMWARE_INVALID"
        /// The firmware has no SEV metadata (or no SEV-ES reset block): it cannot boot an SEV-SNP guest.
        case firmwareLacksSEV = "FIRMWARE_LACKS_SEV"
        /// A kernel was given but the firmware has no kernel-hashes section to measure it with.
        case firmwareLacksKernelHashes = "FIRMWARE_LACKS_KERNEL_HASHES"
        /// The firmware has no TDX metadata (it is not a TDVF).
        case firmwareLacksTDX = "FIRMWARE_LACKS_TDX"
        /// An option is out of range or unknown (vCPU count, vCPU type, VMM, guest features, memory).
        case invalidOption = "INVALID_OPTION"
        /// A boot bundle's `bundle.json` is missing, malformed, or names a file outside the bundle.
        case bundleInvalid = "BUNDLE_INVALID"
        /// A file of a boot bundle does not have the SHA-256 its `bundle.json` names.
        case bundleDigestMismatch = "BUNDLE_DIGEST_MISMATCH"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what to change.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    /// Creates an error.
    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// Two errors are equal when their codes and messages are; the raising location is ignored.
    public static func == (lhs: MeasurementError, rhs: MeasurementError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
