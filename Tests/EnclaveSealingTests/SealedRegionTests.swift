import EnclavaTesting
import Testing
@testable import EnclaveSealing

@Suite struct SealedRegionTests {
    @Test func zeroFilledAndWritable() throws {
        let region = try SealedRegion(count: 10_000, lockPolicy: .allowUnlocked)
        #expect(region.count == 10_000)
        region.withUnsafeBytes { bytes in #expect(bytes.allSatisfy { $0 == 0 }) }
        region.withUnsafeMutableBytes { bytes in bytes[9_999] = 7 }
        region.withUnsafeBytes { bytes in #expect(bytes[9_999] == 7) }
        region.zeroize()
        region.withUnsafeBytes { bytes in #expect(bytes[9_999] == 0) }
    }

    @Test func zeroSizedRegionIsAllowed() throws {
        let region = try SealedRegion(count: 0, lockPolicy: .allowUnlocked)
        #expect(region.count == 0)
    }

    @Test func negativeSizeIsRefused() {
        #expect(throws: SealedMemoryError.self) { _ = try SealedRegion(count: -1) }
    }

    @Test func lockFailureMessageSaysWhatToDo() {
        let text = SealedRegion.lockFailureMessage(needed: 64 << 20, errno: 12)
        #expect(text.contains("ulimit -l"))
        #expect(text.contains("--allow-unlocked-memory"))
    }
}

/// DESIGN.md §5 as the kernel reports it: a sealed region holding weights is locked (`lo`), excluded from
/// dumps (`dd`) and wiped on fork (`wf`), and the region says so itself.
@Suite struct SealedRegionProtectionTests {
    @Test func weightsRegionIsLockedDumpExcludedWipedOnFork() throws {
        let region = try SealedRegion(count: 3 * SealedRegion.pageSize + 5, lockPolicy: .required)
        region.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0x3C) }
        #expect(region.isLocked && region.isDumpExcluded && region.isWipedOnFork)
        let map = try ProcessMemoryMap()
        for offset in [0, region.count - 1] {
            let mapping = try #require(region.withUnsafeBytes { map.mapping(containing: $0.baseAddress! + offset) })
            #expect(mapping.isSecretMemory, "VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
        }
    }

    /// The guard pages around it are not readable or writable.
    @Test func guardPagesAreInaccessible() throws {
        let region = try SealedRegion(count: 100, lockPolicy: .required)
        let map = try ProcessMemoryMap()
        let base = region.withUnsafeBytes { $0.baseAddress! }
        let before = try #require(map.mapping(containing: base - 1))
        let after = try #require(map.mapping(containing: base + SealedRegion.pageSize))
        #expect(!before.flags.contains("rd") && !before.flags.contains("wr"))
        #expect(!after.flags.contains("rd") && !after.flags.contains("wr"))
    }
}
