import EnclaveSealing

/// A ``SealedRegion`` held by a class, so it can be kept in arrays and shared read-only between threads.
///
/// The mapping never moves, so ``base`` stays valid for the object's lifetime; the region is zeroized and
/// unmapped when the object is released.
final class SealedBlock: @unchecked Sendable {
    private let region: SealedRegion
    /// The first usable byte.
    let base: UnsafeMutableRawPointer
    /// Usable bytes.
    let count: Int

    /// Maps `count` bytes of sealed memory.
    /// - Throws: ``InferenceError`` with code `resourceLimit` when the memory cannot be mapped or locked
    ///   (the message says how much was needed and how to raise `RLIMIT_MEMLOCK`).
    init(count: Int, lockPolicy: MemoryLockPolicy, purpose: String) throws {
        let region: SealedRegion
        do {
            region = try SealedRegion(count: count, lockPolicy: lockPolicy)
        } catch {
            throw InferenceError.limit("cannot allocate \(count) bytes of sealed memory for \(purpose): \(error)")
        }
        self.base = region.withUnsafeMutableBytes { $0.baseAddress! }
        self.count = count
        self.region = region
    }

    /// Takes over a region that already holds data (a decrypted model file whose weights are moved in place).
    init(adopting region: consuming SealedRegion) {
        self.base = region.withUnsafeMutableBytes { $0.baseAddress! }
        self.count = region.count
        self.region = region
    }

    /// The bytes, read-only.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
