/// A problem with an image manifest, reported with the file and line it was found on.
///
/// The description is one line in compiler style, e.g.
/// `manifest.toml:12: `threads` must be 1…64, got 0`, so that a CLI can print it as is.
public struct ManifestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Equatable {
        /// The file could not be read.
        case fileUnreadable
        /// The text is not valid TOML.
        case syntax
        /// A section or key that the schema does not know (often a typo).
        case unknownKey
        /// A required section or key is missing.
        case missingKey
        /// A value has the wrong TOML type.
        case wrongType
        /// A number is outside its allowed range.
        case outOfRange
        /// A value is not one of the allowed choices or is badly formed.
        case invalidValue
        /// An asset path is absolute, escapes the manifest's folder, or cannot be read.
        case invalidPath
    }

    /// The stable error code.
    public let code: Code
    /// The manifest's name as the user gave it (a path or a label).
    public let sourceName: String
    /// The 1-based line the problem is on, when there is one.
    public let line: Int?
    /// What is wrong and how to fix it.
    public let message: String
    /// Where in Enclava the error was raised (for us, not for users).
    public let file: String
    /// The source line in Enclava that raised the error.
    public let sourceLine: Int

    /// Creates a manifest error.
    public init(_ code: Code, sourceName: String, line: Int?, message: String,
                file: String = #fileID, sourceLine: Int = #line) {
        self.code = code
        self.sourceName = sourceName
        self.line = line
        self.message = message
        self.file = file
        self.sourceLine = sourceLine
    }

    /// `name:line: message`, or `name: message` when no line applies.
    public var description: String {
        if let line { return "\(sourceName):\(line): \(message)" }
        return "\(sourceName): \(message)"
    }

    public static func == (lhs: ManifestError, rhs: ManifestError) -> Bool {
        lhs.code == rhs.code && lhs.sourceName == rhs.sourceName && lhs.line == rhs.line
            && lhs.message == rhs.message
    }
}
