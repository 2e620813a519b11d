import EnclavaCrypto
import EnclavePlatform
import EnclaveSealing
import Logging

extension EnclaveRuntime {
    /// The runtime's share of DESIGN.md §5 for secrets outside sealed regions: hardware backends refuse
    /// `--allow-unlocked-memory`; without it every ``SecureBytes`` allocation must be locked
    /// (``SecureMemory/LockPolicy/required``) and a probe proves now, at start, that it can be; OpenSSL's
    /// own copies of private keys get a locked secure heap.
    /// - Throws: ``RuntimeError`` `.unlockedMemoryRefused` for the flag on a hardware backend, `.sealedMemory`
    ///   when key memory cannot be locked or excluded from dumps.
    static func protectSecrets(options: RuntimeOptions, platform: any TEEPlatform, logger: Logger) throws {
        if options.allowUnlockedMemory && !platform.isSimulated {
            throw RuntimeError(.unlockedMemoryRefused, Self.unlockedMemoryRefusal(backend: platform.backend))
        }
        SecureMemory.setLockPolicy(options.allowUnlockedMemory ? .bestEffort : .required)
        let probe = SecureMemory.probe()
        let heap = SecureMemory.enableOpenSSLSecureHeap()
        if options.allowUnlockedMemory {
            logger.warning("--allow-unlocked-memory: secrets may be kept in memory that can reach swap; development only",
                           metadata: ["key_memory": "\(probe)", "openssl_secure_heap": "\(heap)"])
            return
        }
        guard probe.contains(.locked), heap.contains(.locked) else {
            let limit = SealedRegion.memoryLockLimit().map { "\($0 / 1024) KiB" } ?? "unlimited"
            throw RuntimeError(.sealedMemory, "cannot lock key memory in RAM (RLIMIT_MEMLOCK is \(limit), mlock errno "
                               + "\(SecureMemory.status.lastLockErrno)); raise it (e.g. `ulimit -l 65536` or LimitMEMLOCK= "
                               + "in the service unit), or for development with --backend sim only, start with --allow-unlocked-memory")
        }
        guard probe.contains(.dumpExcluded), heap.contains(.dumpExcluded), probe.contains(.wipedOnFork) else {
            throw RuntimeError(.sealedMemory, "cannot exclude key memory from core dumps or from forked children "
                               + "(madvise MADV_DONTDUMP or MADV_WIPEONFORK failed); run on Linux 4.14 or later")
        }
        logger.info("key memory locked", metadata: ["key_memory": "\(probe)", "openssl_secure_heap": "\(heap)"])
    }

    /// The refusal for `--allow-unlocked-memory` on a hardware backend (also used by `enclava-runtime`
    /// before it builds the platform).
    public static func unlockedMemoryRefusal(backend: String) -> String {
        "--allow-unlocked-memory is for development with --backend sim only; the \(backend) backend keeps every "
            + "secret locked in RAM: raise RLIMIT_MEMLOCK (`ulimit -l`, LimitMEMLOCK=) instead"
    }
}
