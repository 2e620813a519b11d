#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CEnclaveSystem
import Synchronization

/// How a ``SealedRegion`` treats memory locking.
public enum MemoryLockPolicy: Sendable, Equatable {
    /// Every region is `mlock`ed; a region that cannot be locked is refused with
    /// ``SealedMemoryError/Code/memoryLockLimitTooSmall``. The default, and the only choice in production.
    case required
    /// Development only (`--allow-unlocked-memory`): a region that cannot be locked is kept unlocked,
    /// so its pages may reach swap. Everything else (guard pages, no-dump, zeroize) still applies.
    case allowUnlocked
}

/// An error from sealed memory, with a stable code and a sentence that says what to do.
public struct SealedMemoryError: Error, CustomStringConvertible, Sendable {
    /// Stable error codes.
    public enum Code: String, Sendable {
        case memoryLockLimitTooSmall = "MEMLOCK_LIMIT_TOO_SMALL"
        case mapFailed = "MMAP_FAILED"
        case invalidSize = "INVALID_SIZE"
        case adviceFailed = "MADVISE_FAILED"
    }
    public let code: Code
    public let message: String
    /// Bytes that were asked for, when the error is about size.
    public let requestedBytes: Int
    public let fileID: String
    public let line: Int

    init(_ code: Code, _ message: String, requestedBytes: Int = 0, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.requestedBytes = requestedBytes
        self.fileID = fileID
        self.line = line
    }

    public var description: String { message }
}

/// Anonymous memory for secrets (keys, decrypted weights, request plaintext), DESIGN.md §5.
///
/// The mapping has an inaccessible guard page on each side, is `mlock`ed (see ``MemoryLockPolicy``),
/// excluded from core dumps (`MADV_DONTDUMP`), wiped in a forked child (`MADV_WIPEONFORK`) and zeroized
/// when the region is released. The type is `~Copyable`, so an accidental copy is a compile error; pass it
/// with `borrowing` or move it with `consume`.
public struct SealedRegion: ~Copyable, @unchecked Sendable {
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int
    private let base: UnsafeMutableRawPointer
    /// Usable bytes, as asked for.
    public let count: Int
    /// Whether the pages are locked in RAM.
    public let isLocked: Bool
    /// Whether `MADV_DONTDUMP` took: the pages are left out of core dumps.
    public let isDumpExcluded: Bool
    /// Whether `MADV_WIPEONFORK` took: a forked child sees zeros.
    public let isWipedOnFork: Bool

    /// Regions alive now whose pages are not locked, and regions ever mapped unlocked (reported by the
    /// runtime's Health: a secret may have reached swap).
    public static var unlockedRegions: (alive: Int, ever: Int) {
        (unlockedAlive.load(ordering: .relaxed), unlockedEver.load(ordering: .relaxed))
    }
    private static let unlockedAlive = Atomic<Int>(0)
    private static let unlockedEver = Atomic<Int>(0)

    /// The system page size.
    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    /// Maps a new zero-filled region of `count` bytes.
    /// - Parameters:
    ///   - count: usable bytes (0 is allowed and maps one page).
    ///   - lockPolicy: whether failing to `mlock` is an error.
    /// - Throws: ``SealedMemoryError`` when the mapping fails, or under `.required` when it cannot be
    ///   locked (the message says how much is needed and how to raise `RLIMIT_MEMLOCK`) or advised
    ///   (`MADV_DONTDUMP`, `MADV_WIPEONFORK`; ``SealedMemoryError/Code/adviceFailed``). Under
    ///   `.allowUnlocked` those are recorded in ``isLocked``, ``isDumpExcluded`` and ``isWipedOnFork``.
    public init(count: Int, lockPolicy: MemoryLockPolicy = .required) throws {
        guard count >= 0, count <= Int.max / 2 else {
            throw SealedMemoryError(.invalidSize, "sealed region size \(count) is out of range", requestedBytes: count)
        }
        let page = Self.pageSize
        let body = max(page, (count + page - 1) / page * page)
        let total = body + 2 * page
        guard let raw = mmap(nil, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            throw SealedMemoryError(.mapFailed, "could not map \(total) bytes of sealed memory (errno \(errno)); free memory or lower the model size",
                                    requestedBytes: count)
        }
        let bodyStart = raw + page
        if mprotect(bodyStart, body, PROT_READ | PROT_WRITE) != 0 {
            munmap(raw, total)
            throw SealedMemoryError(.mapFailed, "could not make sealed memory writable (errno \(errno))", requestedBytes: count)
        }
        let dontDumpError = enclava_sys_madvise_dontdump(bodyStart, body)
        let wipeOnForkError = enclava_sys_madvise_wipeonfork(bodyStart, body)
        if lockPolicy == .required, dontDumpError != 0 || wipeOnForkError != 0 {
            munmap(raw, total)
            let advice = dontDumpError != 0 ? "MADV_DONTDUMP" : "MADV_WIPEONFORK"
            throw SealedMemoryError(.adviceFailed, "madvise(\(advice)) failed on sealed memory (errno "
                                    + "\(dontDumpError != 0 ? dontDumpError : wipeOnForkError)); run on Linux 4.14 or later, "
                                    + "or for development only start with --allow-unlocked-memory", requestedBytes: count)
        }
        let locked = mlock(bodyStart, body) == 0
        if !locked {
            let err = errno
            if lockPolicy == .required {
                munmap(raw, total)
                throw SealedMemoryError(.memoryLockLimitTooSmall, Self.lockFailureMessage(needed: body, errno: err),
                                        requestedBytes: count)
            }
            Self.unlockedAlive.add(1, ordering: .relaxed)
            Self.unlockedEver.add(1, ordering: .relaxed)
        }
        self.mapping = raw
        self.mappingLength = total
        self.base = bodyStart
        self.count = count
        self.isLocked = locked
        self.isDumpExcluded = dontDumpError == 0
        self.isWipedOnFork = wipeOnForkError == 0
    }

    deinit {
        let page = Self.pageSize
        let body = mappingLength - 2 * page
        enclava_sys_secure_zero(base, body)
        if isLocked { munlock(base, body) } else { Self.unlockedAlive.subtract(1, ordering: .relaxed) }
        munmap(mapping, mappingLength)
    }

    /// Calls `body` with the region's bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the region's bytes, writable.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// Zeroes the region now (it is zeroed again when released).
    public func zeroize() {
        enclava_sys_secure_zero(base, count)
    }

    /// The current `RLIMIT_MEMLOCK` soft limit in bytes, or nil when unlimited.
    public static func memoryLockLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur == rlim_t.max { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    static func lockFailureMessage(needed: Int, errno err: Int32) -> String {
        let limitText = memoryLockLimit().map { "\($0 / 1024) KiB" } ?? "unlimited"
        return "cannot lock \(needed / 1024) KiB of sealed memory in RAM (RLIMIT_MEMLOCK is \(limitText), errno \(err)); "
            + "raise it (e.g. `ulimit -l \(max(needed / 1024 * 2, 65536))` or LimitMEMLOCK= in the service unit), "
            + "or for development only start with --allow-unlocked-memory"
    }
}

/// Process-wide hardening for the enclave process (DESIGN.md §5): no core dumps, not dumpable.
public enum ProcessHardening {
    /// Sets `PR_SET_DUMPABLE 0` and `RLIMIT_CORE 0`.
    /// - Throws: ``SealedMemoryError`` with code `.mapFailed` is never thrown here; failures are returned
    ///   as a list of human-readable warnings so the caller can log them.
    public static func apply() -> [String] {
        var warnings: [String] = []
        let rc = enclava_sys_set_not_dumpable()
        if rc != 0 { warnings.append("prctl(PR_SET_DUMPABLE, 0) failed (errno \(rc))") }
        var zero = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &zero) != 0 {
            warnings.append("setrlimit(RLIMIT_CORE, 0) failed (errno \(errno))")
        }
        return warnings
    }
}
