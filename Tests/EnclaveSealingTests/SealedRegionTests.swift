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
