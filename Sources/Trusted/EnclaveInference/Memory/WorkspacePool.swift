import EnclaveSealing
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sealed workspaces kept between requests, so a request does not pay for mapping, locking and first-touch
/// page faults of fresh memory. A workspace is zeroized (the bytes the request used) before it goes back to
/// the pool, so no request's plaintext outlives it; at most ``capacity`` idle workspaces are kept.
final class WorkspacePool: Sendable {
    /// Idle workspaces kept at most (one per concurrently running request is enough).
    let capacity: Int
    private let idle = Mutex<[SealedBlock]>([])

    init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// A workspace of at least `bytes` bytes: the smallest idle one that fits, or a new one.
    /// - Throws: ``InferenceError`` `resourceLimit` when sealed memory cannot be mapped or locked.
    func acquire(bytes: Int, lockPolicy: MemoryLockPolicy) throws -> SealedBlock {
        let reused: SealedBlock? = idle.withLock { blocks in
            guard let index = blocks.indices.filter({ blocks[$0].count >= bytes }).min(by: { blocks[$0].count < blocks[$1].count })
            else { return nil }
            return blocks.remove(at: index)
        }
        if let reused { return reused }
        return try SealedBlock(count: bytes, lockPolicy: lockPolicy, purpose: "a request's working memory")
    }

    /// Whether every idle workspace reads zero (for tests: no request's plaintext outlives its run).
    var idleBlocksReadZero: Bool {
        idle.withLock { blocks in blocks.allSatisfy { $0.bytes.allSatisfy { $0 == 0 } } }
    }

    /// Idle workspaces kept now.
    var idleCount: Int { idle.withLock { $0.count } }

    /// Zeroizes the first `used` bytes of `block` and keeps it for the next request (or drops it, which
    /// zeroizes and unmaps all of it, when the pool is full; the smallest idle block makes room for a larger one).
    func release(_ block: SealedBlock, used: Int) {
        memset(block.base, 0, min(used, block.count))
        idle.withLock { blocks in
            if blocks.count < capacity {
                blocks.append(block)
            } else if let smallest = blocks.indices.min(by: { blocks[$0].count < blocks[$1].count }),
                      blocks[smallest].count < block.count {
                blocks[smallest] = block
            }
        }
    }
}
