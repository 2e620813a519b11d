import EnclavaCrypto
import EnclavaImage

/// What a sealed-state key is bound to besides the platform (DESIGN.md §7, manifest `[keys] seal_to`).
public enum SealingPolicy: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The enclave's own measurement: a rebuilt or updated runtime cannot open the state.
    case measurement = 1
    /// The enclave's signer (SGX MRSIGNER + ISVPRODID): another build from the same signer opens it.
    case signer = 2

    /// The policy of a manifest's `seal_to`.
    public init(_ sealTo: Manifest.SealTo) {
        switch sealTo {
        case .measurement: self = .measurement
        case .signer: self = .signer
        }
    }

    /// `measurement` or `signer`, as the manifest spells it.
    public var description: String {
        switch self {
        case .measurement: "measurement"
        case .signer: "signer"
        }
    }
}

/// A platform key for sealed state, with what the platform bound it to. Made by a ``SealedStateKeySource``
/// (a TEE platform); used by ``SealedRestart`` and ``SealedState``.
public struct SealedStateKey: Sendable {
    /// Size of ``key``.
    public static let keyByteCount = 32
    /// Longest ``backend`` name.
    public static let maxBackendBytes = 16
    /// Longest ``binding`` and ``tcb``.
    public static let maxFieldBytes = 64
    /// The purpose every backend derives its sealed-state key for (never used for anything else).
    public static let purpose = "enclava/v1 sealed state"

    /// The 32-byte key from the platform's sealing-key derivation.
    public let key: SecureBytes
    /// The backend that derived it (`sim`, `sev-snp`, `sgx`).
    public let backend: String
    /// The policy it was derived under.
    public let policy: SealingPolicy
    /// The identity it is bound to: the measurement (policy `measurement`) or the signer (policy `signer`).
    public let binding: [UInt8]
    /// The TCB the key was derived under, in the backend's own encoding (SEV-SNP and sim: the 8-byte
    /// `TCB_VERSION`; SGX: CPUSVN ‖ ISVSVN). A platform whose TCB moved derives another key.
    public let tcb: [UInt8]

    /// A key and its bindings.
    /// - Throws: ``SealedStateError`` `.keyUnavailable` when the key is not 32 bytes, the backend name is
    ///   empty, longer than 16 bytes or not `[a-z0-9-]`, the binding is empty, or a field exceeds 64 bytes.
    public init(key: SecureBytes, backend: String, policy: SealingPolicy, binding: [UInt8], tcb: [UInt8]) throws {
        guard key.count == Self.keyByteCount else {
            throw SealedStateError(.keyUnavailable, "the \(backend) platform gave a \(key.count)-byte sealing key; "
                + "a sealed-state key has \(Self.keyByteCount) bytes")
        }
        guard SealedStateKey.isBackendName(backend) else {
            throw SealedStateError(.keyUnavailable, "the platform name `\(backend)` is not 1…\(Self.maxBackendBytes) "
                + "characters of a-z, 0-9 and -")
        }
        guard (1...Self.maxFieldBytes).contains(binding.count), tcb.count <= Self.maxFieldBytes else {
            throw SealedStateError(.keyUnavailable, "the \(backend) platform bound its sealing key to a \(binding.count)-byte "
                + "identity and a \(tcb.count)-byte TCB; each must fit in \(Self.maxFieldBytes) bytes (identity not empty)")
        }
        self.key = key
        self.backend = backend
        self.policy = policy
        self.binding = binding
        self.tcb = tcb
    }

    /// True for 1…16 characters of `[a-z0-9-]`.
    static func isBackendName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...maxBackendBytes).contains(bytes.count)
            && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }
}

/// Something that derives sealed-state keys: every TEE platform (`TEEPlatform` refines this protocol).
public protocol SealedStateKeySource: Sendable {
    /// The backend name as the CLI spells it (`sim`, `sev-snp`, `tdx`, `sgx`).
    var backend: String { get }
    /// The key sealed state is sealed under on this platform, for `policy`, bound to this enclave and the
    /// platform's current TCB.
    /// - Throws: ``SealedStateError``: `.noSealingKey` when the platform has none (TDX: every start is a
    ///   release), `.policyUnsupported` for a policy the platform cannot bind to, `.keyUnavailable` when the
    ///   device or file that gives the key fails.
    func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey
}
