internal import COpenSSL
internal import CSecureMemory
import Synchronization

/// The memory that ``SecureBytes`` lives in (DESIGN.md §5, "secrets outside regions"): anonymous pages
/// that are `mlock`ed (kept out of swap), `MADV_DONTDUMP` (kept out of core dumps) and `MADV_WIPEONFORK`
/// (zero in a forked child), wiped before they are reused or unmapped.
///
/// Locking is never silent. Every ``SecureBytes`` says what protects it (``SecureBytes/memoryProtection``),
/// and ``status`` counts every page that could not be locked or advised. By default (``LockPolicy/bestEffort``,
/// right for clients) pages that cannot be locked are kept unlocked and counted; the enclave runtime
/// chooses ``LockPolicy/required``, under which an allocation that cannot be locked stops the process
/// with a message naming `RLIMIT_MEMLOCK` rather than put a secret in swappable memory.
public enum SecureMemory {
    /// What protects the pages of one allocation.
    public struct Protection: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int
        /// Creates a set from raw bits.
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// `mlock` succeeded: the pages stay in RAM.
        public static let locked = Protection(rawValue: Int(ENCLAVA_SECMEM_LOCKED))
        /// `MADV_DONTDUMP` succeeded: the pages are left out of core dumps.
        public static let dumpExcluded = Protection(rawValue: Int(ENCLAVA_SECMEM_DONTDUMP))
        /// `MADV_WIPEONFORK` succeeded: a forked child sees zeros.
        public static let wipedOnFork = Protection(rawValue: Int(ENCLAVA_SECMEM_WIPEONFORK))
        /// Everything the design asks for.
        public static let all: Protection = [.locked, .dumpExcluded, .wipedOnFork]

        public var description: String {
            let names = [(Protection.locked, "locked"), (.dumpExcluded, "dump-excluded"), (.wipedOnFork, "wiped-on-fork")]
                .filter { contains($0.0) }.map(\.1)
            return names.isEmpty ? "unprotected" : names.joined(separator: ", ")
        }
    }

    /// What happens when pages for a secret cannot be locked.
    public enum LockPolicy: Sendable, Equatable {
        /// Keep them unlocked and count them in ``SecureMemory/status`` (the default; clients).
        case bestEffort
        /// Stop the process rather than hold a secret in swappable memory (the enclave runtime).
        case required
    }

    /// A snapshot of the allocator's counters.
    public struct Status: Sendable, Equatable {
        /// Bytes mapped for secrets now.
        public var mappedBytes: Int
        /// Of those, bytes whose `mlock` failed (they may reach swap).
        public var unlockedBytes: Int
        /// Mappings whose `mlock` failed, ever (including refused ones).
        public var lockFailures: Int
        /// Mappings whose `MADV_DONTDUMP` failed, ever.
        public var dumpExclusionFailures: Int
        /// Mappings whose `MADV_WIPEONFORK` failed, ever.
        public var wipeOnForkFailures: Int
        /// Allocations refused under ``LockPolicy/required``, ever.
        public var refusedUnlocked: Int
        /// `errno` of the latest `mlock` failure, 0 when there was none.
        public var lastLockErrno: Int32
        /// The policy in force.
        public var policy: LockPolicy

        /// True when a secret has been kept in unlocked pages at some point (not only refused).
        public var hasHeldUnlockedSecrets: Bool { lockFailures > refusedUnlocked }
    }

    /// The current counters.
    public static var status: Status {
        var raw = enclava_secmem_stats()
        enclava_secmem_get_stats(&raw)
        return Status(mappedBytes: Int(raw.mapped_bytes), unlockedBytes: Int(raw.unlocked_bytes),
                      lockFailures: Int(raw.lock_failures), dumpExclusionFailures: Int(raw.dontdump_failures),
                      wipeOnForkFailures: Int(raw.wipeonfork_failures), refusedUnlocked: Int(raw.refused_unlocked),
                      lastLockErrno: raw.last_lock_errno, policy: raw.require_locked != 0 ? .required : .bestEffort)
    }

    /// Sets the process-wide policy (the enclave runtime sets ``LockPolicy/required`` at start unless it
    /// was started with `--allow-unlocked-memory`).
    public static func setLockPolicy(_ policy: LockPolicy) {
        enclava_secmem_set_require_locked(policy == .required ? 1 : 0)
    }

    /// Checks that a page for secrets can be mapped and locked now, so that a runtime refuses to start
    /// instead of stopping at its first request.
    /// - Returns: the protection a large allocation gets now (empty when it cannot be made under the policy).
    public static func probe() -> Protection {
        var bits: Int32 = 0
        var actual = 0
        guard let block = enclava_secmem_alloc(Int(ENCLAVA_SECMEM_SMALL_MAX) + 1, &bits, &actual) else { return [] }
        enclava_secmem_free(block, actual, bits)
        return Protection(rawValue: Int(bits))
    }

    /// Gives OpenSSL's own secure heap (`CRYPTO_secure_malloc_init`), which it uses for the private key
    /// copies inside its `EVP_PKEY`s, `bytes` of locked, dump-excluded memory. Once per process: the first
    /// call sets the heap up and later calls (from any thread, at the same time or after) return what it
    /// got. OpenSSL's own initialiser is not thread-safe — two threads inside it at once each lay out a
    /// heap, and allocations made in the first are then freed into the second (an OpenSSL assertion,
    /// `mem_sec.c: !TESTBIT(table, bit)`, aborts the process) — so every call goes through one lock.
    /// - Returns: ``Protection/locked`` and ``Protection/dumpExcluded`` when the heap is set up and locked,
    ///   ``Protection/dumpExcluded`` alone when it could not be locked, empty when it could not be set up.
    public static func enableOpenSSLSecureHeap(bytes: Int = 1 << 20) -> Protection {
        openSSLHeap.withLock { known in
            if let known { return known }
            let protection: Protection = switch CRYPTO_secure_malloc_initialized() == 1 ? 0 : CRYPTO_secure_malloc_init(bytes, 32) {
            case 1: [.locked, .dumpExcluded]
            case 2: [.dumpExcluded]
            default: []
            }
            known = protection
            return protection
        }
    }

    /// What protects OpenSSL's secure heap, or nil when ``enableOpenSSLSecureHeap(bytes:)`` was not called.
    public static var openSSLSecureHeap: Protection? {
        openSSLHeap.withLock { $0 }
    }
    private static let openSSLHeap = Mutex<Protection?>(nil)

    /// Zeroes `buffer` in a way the compiler may not elide (`OPENSSL_cleanse`), for the few plaintext
    /// copies that cannot live in ``SecureBytes`` (for example bytes a protobuf parser put in `Data`).
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        OPENSSL_cleanse(base, buffer.count)
    }

    // MARK: Testing aids

    /// Testing aid: when on, every release checks (after the wipe, before the memory can be reused or
    /// unmapped) that the whole block reads zero; see ``releaseChecks``.
    public static func setVerifyReleases(_ enabled: Bool) {
        enclava_secmem_set_verify_release(enabled ? 1 : 0)
    }

    /// Releases checked since ``setVerifyReleases(_:)`` was turned on, and how many read non-zero.
    public static var releaseChecks: (checked: Int, nonZero: Int) {
        var checked: UInt64 = 0
        var nonZero: UInt64 = 0
        enclava_secmem_get_release_checks(&checked, &nonZero)
        return (Int(checked), Int(nonZero))
    }

    // MARK: Allocation (for SecureBytes)

    /// A zeroed block of at least `byteCount` bytes; returns it, its protection and its usable size (pass
    /// that size to ``deallocate(_:byteCount:protection:)``).
    static func allocate(byteCount: Int) -> (UnsafeMutableRawPointer, Protection, Int) {
        var bits: Int32 = 0
        var actual = 0
        guard let block = enclava_secmem_alloc(byteCount, &bits, &actual) else {
            let state = status
            if state.policy == .required && state.refusedUnlocked > 0 {
                fatalError("enclava: cannot lock \(byteCount) bytes of secret memory in RAM (mlock errno "
                           + "\(state.lastLockErrno)); raise RLIMIT_MEMLOCK (`ulimit -l`, LimitMEMLOCK=), "
                           + "or for development only start with --allow-unlocked-memory")
            }
            fatalError("enclava: cannot map \(byteCount) bytes of secret memory; the process is out of memory")
        }
        return (block, Protection(rawValue: Int(bits)), actual)
    }

    static func deallocate(_ block: UnsafeMutableRawPointer, byteCount: Int, protection: Protection) {
        enclava_secmem_free(block, byteCount, Int32(protection.rawValue))
    }
}
