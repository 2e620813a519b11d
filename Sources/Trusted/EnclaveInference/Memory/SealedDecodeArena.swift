internal import COnnx
import EnclaveSealing

/// The allocator protobuf-c decodes a model into: chunks of sealed memory, so the weights a decoded
/// `ModelProto` holds never sit in the ordinary heap. Allocation bumps a pointer; `free` does nothing;
/// every chunk is zeroized and unmapped when the arena is released (right after decoding).
///
/// Used from one thread at a time (the decoding call).
final class SealedDecodeArena {
    private let chunkSize: Int
    private let lockPolicy: MemoryLockPolicy
    private var blocks: [SealedBlock] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    /// Bytes handed out so far (aligned).
    private(set) var allocatedBytes = 0
    /// The first sealed-memory failure, reported instead of protobuf-c's generic one.
    private(set) var failure: InferenceError?

    /// - Parameter expectedBytes: the encoded size; chunks are sized from it (64 KiB … 4 MiB) so a small
    ///   model locks little memory and a large one needs few chunks.
    init(lockPolicy: MemoryLockPolicy, expectedBytes: Int) {
        self.lockPolicy = lockPolicy
        self.chunkSize = min(max(expectedBytes / 2, 64 << 10), 4 << 20)
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let aligned = (max(size, 1) + 15) & ~15
        if aligned > remaining {
            do {
                let block = try SealedBlock(count: max(chunkSize, aligned), lockPolicy: lockPolicy,
                                            purpose: "decoding the model")
                blocks.append(block)
                cursor = block.base
                remaining = block.count
            } catch {
                failure = failure ?? (error as? InferenceError)
                return nil
            }
        }
        let pointer = cursor!
        cursor = pointer + aligned
        remaining -= aligned
        allocatedBytes += aligned
        return pointer
    }

    /// Calls `body` with a protobuf-c allocator backed by this arena.
    func withAllocator<R>(_ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws -> R) rethrows -> R {
        var allocator = ProtobufCAllocator(
            alloc: { data, size in
                Unmanaged<SealedDecodeArena>.fromOpaque(data!).takeUnretainedValue().allocate(size)
            },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(self).toOpaque())
        return try withExtendedLifetime(self) { try body(&allocator) }
    }
}
