import EnclavaCrypto
import Foundation
import Synchronization
import EnclavaTesting
import Testing

/// DESIGN.md §5: keys and plaintext in SecureBytes live in locked (`lo`), dump-excluded (`dd`),
/// wiped-on-fork (`wf`) pages, as the kernel itself reports them in /proc/self/smaps.
@Suite struct SecureMemoryTests {
    /// Sizes on the slab (≤ 1 KiB) and on their own guarded mapping.
    @Test(arguments: [1, 32, 1024, 1025, 70_000, 1 << 20])
    func secureBytesLiveInLockedDumpExcludedPages(count: Int) throws {
        let secret = SecureBytes.random(count: count)
        #expect(secret.memoryProtection == .all, "\(secret.memoryProtection)")
        let map = try ProcessMemoryMap()
        for offset in [0, count - 1] {
            let mapping = try #require(secret.withUnsafeBytes { map.mapping(containing: $0.baseAddress! + offset) })
            #expect(mapping.isSecretMemory, "byte \(offset) of \(count): VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
        }
    }

    @Test func anX25519PrivateKeyIsInSecretMemory() throws {
        let key = X25519PrivateKey()
        let map = try ProcessMemoryMap()
        let mapping = try #require(key.rawRepresentation.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(mapping.isSecretMemory, "VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
    }

    /// Plain Swift arrays are not: the test can tell the difference.
    @Test func ordinaryHeapMemoryIsNotSecretMemory() throws {
        let array = [UInt8](repeating: 7, count: 70_000)
        let map = try ProcessMemoryMap()
        let mapping = try #require(array.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(!mapping.isSecretMemory)
        #expect(!mapping.flags.contains("lo"))
    }

    /// Every release wipes the whole slot or all the pages (checked by the allocator, after the wipe and
    /// before the memory can be reused or unmapped), including storage left behind by growth.
    @Test func releasedBlocksReadZero() {
        SecureMemory.setVerifyReleases(true)
        let before = SecureMemory.releaseChecks
        do {
            var small = SecureBytes(count: 100)
            small.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
            var large = SecureBytes(count: 70_000)
            large.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0x5A) }
            small.append(large)  // grows: the old 100-byte slot is released
            #expect(small.count == 70_100)
        }
        let after = SecureMemory.releaseChecks
        #expect(after.checked >= before.checked + 3)
        #expect(after.nonZero == 0)
    }

    @Test func statusAccountsForMappedMemory() {
        let secret = SecureBytes.random(count: 1 << 16)
        let status = SecureMemory.status
        #expect(status.mappedBytes >= 1 << 16)
        // Unlocked bytes exist only after a lock failure, and are reported as such.
        #expect(status.unlockedBytes == 0 || status.hasHeldUnlockedSecrets)
        #expect(secret.count == 1 << 16)
    }

    @Test func probeReportsFullProtection() {
        #expect(SecureMemory.probe() == .all)
    }

    /// Several in-process runtimes start at once in the test suite, each asking for OpenSSL's secure heap
    /// while other threads make keys in it. OpenSSL's initialiser is not thread-safe (two threads inside
    /// it lay out two heaps and the process aborts in mem_sec.c); every caller must get the one answer the
    /// first call got, and keys made meanwhile must still work and be freed cleanly.
    @Test func theOpenSSLSecureHeapIsSetUpOnceUnderConcurrentCallers() throws {
        let threadCount = 16
        let go = Atomic<Bool>(false)
        let answers = Mutex<[SecureMemory.Protection]>([])
        let threads = (0..<threadCount).map { index in
            Thread {
                while !go.load(ordering: .acquiring) {}
                if index.isMultiple(of: 2) {
                    let key = X25519PrivateKey()
                    _ = try? key.sharedSecret(with: X25519PrivateKey().publicKey)
                }
                let answer = SecureMemory.enableOpenSSLSecureHeap()
                let key = X25519PrivateKey()
                _ = try? key.sharedSecret(with: X25519PrivateKey().publicKey)
                answers.withLock { $0.append(answer) }
            }
        }
        threads.forEach { $0.start() }
        go.store(true, ordering: .releasing)
        while answers.withLock({ $0.count }) < threadCount { Thread.sleep(forTimeInterval: 0.001) }
        let all = answers.withLock { $0 }
        #expect(Set(all).count == 1, "\(Set(all))")
        #expect(SecureMemory.openSSLSecureHeap == all.first)
    }

    @Test func wipeZeroesAnOrdinaryBuffer() {
        var bytes = [UInt8](repeating: 0xFF, count: 4096)
        bytes.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        #expect(bytes.allSatisfy { $0 == 0 })
    }

    @Test func protectionDescribesItself() {
        #expect(SecureMemory.Protection.all.description == "locked, dump-excluded, wiped-on-fork")
        #expect(SecureMemory.Protection().description == "unprotected")
    }
}
