/// How an image's data-encryption key (DEK) can be recovered (DESIGN.md §4). Holds no secret.
public enum KeyWrapping: Sendable, Equatable {
    /// The DEK sealed to a platform sealing key.
    case sealed(SealedDEK)
    /// The DEK stays with the model owner; only its one-way identifier is in the image.
    case owner(keyID: [UInt8])

    /// `"sealed"` or `"owner"`.
    public var kind: String {
        switch self {
        case .sealed: return "sealed"
        case .owner: return "owner"
        }
    }
}

/// A DEK sealed by ``KeyWrap/sealDEK(_:sealingKey:manifestDigest:measurement:)``.
public struct SealedDEK: Sendable, Equatable {
    /// Sealing scheme version (``KeyWrap/sealingVersion``), for migration.
    public var version: UInt32
    /// The key policy: `"measurement"` (the sealing key is bound to the enclave's measurement).
    public var keyPolicy: String
    /// The purpose string the sealing key was derived with (``KeyWrap/sealingPurpose``).
    public var purpose: String
    /// The measurement the DEK was sealed for (may be empty when the caller did not bind one).
    public var measurement: [UInt8]
    /// The 12-byte AES-GCM nonce.
    public var nonce: [UInt8]
    /// AES-256-GCM ciphertext ‖ tag of the DEK.
    public var sealedKey: [UInt8]
    /// Additional data: manifest digest ‖ measurement.
    public var aad: [UInt8]

    /// Creates a sealed-key record (normally made by ``KeyWrap``, or decoded from a header).
    public init(version: UInt32, keyPolicy: String, purpose: String, measurement: [UInt8], nonce: [UInt8],
                sealedKey: [UInt8], aad: [UInt8]) {
        self.version = version
        self.keyPolicy = keyPolicy
        self.purpose = purpose
        self.measurement = measurement
        self.nonce = nonce
        self.sealedKey = sealedKey
        self.aad = aad
    }
}
