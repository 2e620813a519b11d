import EnclavaCrypto
import EnclaveSealing

/// Whether this enclave's secrets are all in locked memory, as `Health` (`memory_unlocked`,
/// `memory_message`) and every encrypted `InferResult` (`memory_unlocked`) report it (DESIGN.md §5).
///
/// Memory counts as unlocked when the runtime was started with `--allow-unlocked-memory` (the host's
/// choice, so clients must see it), or when the process has ever held a secret in pages that could not be
/// locked or kept out of dumps: a ``SecureBytes`` block (``SecureMemory/status``) or a ``SealedRegion``.
public struct MemoryProtectionReport: Sendable, Equatable {
    /// The runtime was started with `--allow-unlocked-memory`.
    public var allowUnlockedMemory: Bool
    /// Bytes of ``SecureBytes`` memory mapped now whose `mlock` failed.
    public var unlockedSecretBytes: Int
    /// Whether any ``SecureBytes`` block was ever kept unlocked.
    public var secretsEverUnlocked: Bool
    /// `MADV_DONTDUMP` failures on ``SecureBytes`` memory, ever.
    public var dumpExclusionFailures: Int
    /// Sealed regions (weights, workspaces) ever mapped unlocked.
    public var regionsEverUnlocked: Int
    /// OpenSSL's secure heap (its copies of private keys) was set up but could not be locked.
    public var openSSLHeapUnlocked: Bool = false

    /// The report now, for a runtime started with or without `--allow-unlocked-memory`.
    public static func current(allowUnlockedMemory: Bool) -> MemoryProtectionReport {
        let secure = SecureMemory.status
        return MemoryProtectionReport(allowUnlockedMemory: allowUnlockedMemory,
                                      unlockedSecretBytes: secure.unlockedBytes,
                                      secretsEverUnlocked: secure.hasHeldUnlockedSecrets,
                                      dumpExclusionFailures: secure.dumpExclusionFailures,
                                      regionsEverUnlocked: SealedRegion.unlockedRegions.ever,
                                      openSSLHeapUnlocked: SecureMemory.openSSLSecureHeap.map { !$0.contains(.locked) } ?? false)
    }

    /// True when a secret may be, or may have been, in pages that can reach swap or a dump.
    public var isUnlocked: Bool {
        allowUnlockedMemory || secretsEverUnlocked || dumpExclusionFailures > 0 || regionsEverUnlocked > 0
            || openSSLHeapUnlocked
    }

    /// One line saying why memory counts as unlocked; empty when it does not. Never a secret.
    public var message: String {
        var reasons: [String] = []
        if allowUnlockedMemory { reasons.append("started with --allow-unlocked-memory (development only)") }
        if secretsEverUnlocked {
            reasons.append("key or plaintext memory could not be locked (\(unlockedSecretBytes / 1024) KiB unlocked now)")
        }
        if dumpExclusionFailures > 0 { reasons.append("key memory could not be excluded from core dumps") }
        if regionsEverUnlocked > 0 { reasons.append("\(regionsEverUnlocked) sealed region(s) could not be locked") }
        if openSSLHeapUnlocked { reasons.append("OpenSSL's secure heap could not be locked") }
        guard !reasons.isEmpty else { return "" }
        return "secrets may be in memory that is not locked in RAM: " + reasons.joined(separator: "; ")
            + "; raise RLIMIT_MEMLOCK and restart without --allow-unlocked-memory"
    }
}
