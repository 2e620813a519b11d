import EnclavaCrypto

/// A model key (DEK) sealed by the enclave to its platform sealing key, for its next start (DESIGN.md §7,
/// sealed restart). The host keeps the blob; only an enclave that derives the same key opens it.
///
/// Version 1, integers big-endian:
///
/// | size | field |
/// |---|---|
/// | 8 | magic `ENCLSEAL` |
/// | 2 | version = 1 |
/// | 1 | policy: 1 = measurement, 2 = signer (``SealingPolicy``) |
/// | 1 + n | backend name, n = 1…16 bytes of `[a-z0-9-]` |
/// | 1 + n | binding: the measurement or signer the key is bound to, n = 1…64 |
/// | 1 + n | the TCB the key was derived under, n = 0…64 |
/// | 48 | manifest digest of the image |
/// | 12 | AES-GCM nonce |
/// | 4 | ciphertext length = 48 |
/// | 48 | AES-256-GCM(DEK) ‖ tag |
///
/// The AAD is every byte before the ciphertext (the whole header, nonce and length included); the AES key is
/// `HKDF-SHA384(ikm: platform sealed-state key, salt: "enclava/v1 sealed state", info: "enclava/v1 sealed
/// state dek v1", 32)`. Parsing is strict: every length is bounded before it is used, nothing may follow the
/// ciphertext, and a blob over ``maxByteCount`` is refused unread.
public struct SealedState: Sendable, Equatable {
    /// `ENCLSEAL`.
    public static let magic: [UInt8] = Array("ENCLSEAL".utf8)
    /// The format written and read.
    public static let version: UInt16 = 1
    /// A manifest digest (SHA-384).
    public static let manifestDigestByteCount = 48
    /// A DEK.
    public static let dekByteCount = 32
    /// The sealed DEK with its tag.
    public static let ciphertextByteCount = dekByteCount + 16
    /// The largest blob of version 1 is 270 bytes; anything over this bound is refused before parsing.
    public static let maxByteCount = 512

    /// The policy the key was derived under.
    public var policy: SealingPolicy
    /// The backend that sealed it.
    public var backend: String
    /// The measurement or signer the key is bound to.
    public var binding: [UInt8]
    /// The TCB the key was derived under.
    public var tcb: [UInt8]
    /// The image it belongs to.
    public var manifestDigest: [UInt8]
    /// The 12-byte AES-GCM nonce.
    public var nonce: [UInt8]
    /// AES-256-GCM ciphertext ‖ tag of the DEK.
    public var ciphertext: [UInt8]

    private static let keySalt: [UInt8] = Array("enclava/v1 sealed state".utf8)
    private static let keyInfo: [UInt8] = Array("enclava/v1 sealed state dek v1".utf8)

    /// Seals `dek` under `key` for the image `manifestDigest`, with a fresh nonce.
    /// - Throws: ``SealedStateError`` `.invalidArgument` for a DEK that is not 32 bytes or a digest that is not 48.
    public static func seal(dek: SecureBytes, key: SealedStateKey, manifestDigest: [UInt8]) throws -> SealedState {
        guard dek.count == dekByteCount, manifestDigest.count == manifestDigestByteCount else {
            throw SealedStateError(.invalidArgument, "sealed state holds a \(dekByteCount)-byte DEK for a "
                + "\(manifestDigestByteCount)-byte manifest digest; got \(dek.count) and \(manifestDigest.count) bytes")
        }
        var state = SealedState(policy: key.policy, backend: key.backend, binding: key.binding, tcb: key.tcb,
                                manifestDigest: manifestDigest, nonce: SecureRandom.bytes(count: AESGCM.nonceByteCount),
                                ciphertext: [])
        do {
            state.ciphertext = try AESGCM.seal(key: try aeadKey(key), nonce: state.nonce, plaintext: dek, aad: state.header)
        } catch {
            throw SealedStateError(.keyUnavailable, "cannot seal the model key under the \(key.backend) sealing key: \(error)")
        }
        return state
    }

    /// Opens the DEK with `key`. The caller has already compared the header with what `key` is bound to
    /// (``SealedRestart`` does); this checks only the authenticated encryption.
    /// - Throws: ``SealedStateError`` `.unsealFailed` when the key is another one or any byte was altered.
    public func open(key: SealedStateKey) throws -> SecureBytes {
        let dek: SecureBytes
        do {
            dek = try AESGCM.open(key: try Self.aeadKey(key), nonce: nonce, ciphertextAndTag: ciphertext, aad: header)
        } catch {
            throw SealedStateError(.unsealFailed, "the sealed state does not open with this \(backend) platform's key: "
                + "it was sealed on another machine (another chip or platform secret) or altered")
        }
        guard dek.count == Self.dekByteCount else {
            throw SealedStateError(.unsealFailed, "the sealed state holds \(dek.count) bytes, not a \(Self.dekByteCount)-byte DEK")
        }
        return dek
    }

    /// The wire form.
    public var serialized: [UInt8] { header + ciphertext }

    /// Every byte before the ciphertext: the AAD. The length field is always 48 (the parser accepts nothing else),
    /// so the header is the same before and after sealing.
    var header: [UInt8] {
        var bytes = Self.magic + BigEndian.bytes(Self.version) + [policy.rawValue]
        for field in [Array(backend.utf8), binding, tcb] {
            bytes.append(UInt8(field.count))
            bytes += field
        }
        return bytes + manifestDigest + nonce + BigEndian.bytes(UInt32(Self.ciphertextByteCount))
    }

    private static func aeadKey(_ key: SealedStateKey) throws -> SecureBytes {
        try HKDF.deriveKey(.sha384, ikm: key.key, salt: keySalt, info: keyInfo, length: 32)
    }

    init(policy: SealingPolicy, backend: String, binding: [UInt8], tcb: [UInt8], manifestDigest: [UInt8], nonce: [UInt8],
         ciphertext: [UInt8]) {
        self.policy = policy
        self.backend = backend
        self.binding = binding
        self.tcb = tcb
        self.manifestDigest = manifestDigest
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}

/// Big-endian integers for the sealed-state format.
enum BigEndian {
    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func value<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> T {
        bytes.reduce(T(0)) { $0 << 8 | T($1) }
    }
}
