/// A failure of the key broker's store or server, with a stable code and a sentence that says what to do.
public struct KeyBrokerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable codes.
    public enum Code: String, Sendable, CaseIterable {
        /// The store folder does not exist or is not a key broker store.
        case storeMissing = "STORE_MISSING"
        /// `init` on a folder that already holds a store.
        case storeExists = "STORE_EXISTS"
        /// `master.key` is missing from the store.
        case masterKeyMissing = "MASTER_KEY_MISSING"
        /// `master.key` can be read by others than its owner, or belongs to another user.
        case masterKeyPermissions = "MASTER_KEY_PERMISSIONS"
        /// `master.key` is not a master key file, or does not open the stored keys (another store's key).
        case masterKeyInvalid = "MASTER_KEY_INVALID"
        /// Another process holds the database's write lock for longer than the busy timeout.
        case databaseLocked = "DATABASE_LOCKED"
        /// The database cannot be opened, read or written.
        case databaseFailed = "DATABASE_FAILED"
        /// No image with that name or manifest digest is in the store.
        case imageUnknown = "IMAGE_UNKNOWN"
        /// An image with this manifest digest is already in the store.
        case imageExists = "IMAGE_EXISTS"
        /// The image file cannot be used (unreadable, not signed, not `release = "broker"`).
        case imageInvalid = "IMAGE_INVALID"
        /// The owner key is not the key this image's header commits to.
        case keyMismatch = "KEY_MISMATCH"
        /// The policy cannot be read, or does not pin this image's manifest digest.
        case policyInvalid = "POLICY_INVALID"
        /// An attempt to change or delete an audit line (the audit table is append-only).
        case auditAppendOnly = "AUDIT_APPEND_ONLY"
        /// The server cannot start (address in use, bad option).
        case serverFailed = "SERVER_FAILED"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what to do.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    /// An error with its code and a sentence naming the problem and what to do.
    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: KeyBrokerError, rhs: KeyBrokerError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
