/// Places every value the compute pass writes in one workspace, reusing the bytes of values that are dead.
///
/// Values are allocated in step order; a value dies after the last step that reads it (or any view of it);
/// graph outputs live to the end. A step's outputs are placed before its dead inputs are released, so an
/// output never overlaps an input. Free ranges are kept sorted and merged; allocation is best-fit.
struct MemoryPlanner {
    private var free: [(offset: Int, size: Int)] = []
    private(set) var highWater = 0
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `bytes` (rounded up to the weight alignment) and returns the offset.
    mutating func allocate(_ bytes: Int) throws -> Int {
        let size = WeightStore.align(max(bytes, 1))
        var best: Int?
        for (index, range) in free.enumerated() where range.size >= size {
            if best == nil || range.size < free[best!].size { best = index }
        }
        if let best {
            let range = free[best]
            if range.size == size {
                free.remove(at: best)
            } else {
                free[best] = (range.offset + size, range.size - size)
            }
            return range.offset
        }
        // Grow, merging with a free range that ends at the high-water mark.
        var offset = highWater
        if let last = free.last, last.offset + last.size == highWater {
            offset = last.offset
            free.removeLast()
        }
        guard offset <= limit - size else {
            throw InferenceError.limit("this request needs more than \(limit) bytes of working memory; send a smaller batch")
        }
        highWater = max(highWater, offset + size)
        return offset
    }

    /// Returns a range to the free list.
    mutating func release(offset: Int, bytes: Int) {
        let size = WeightStore.align(max(bytes, 1))
        var index = free.firstIndex { $0.offset > offset } ?? free.count
        free.insert((offset, size), at: index)
        if index + 1 < free.count, free[index].offset + free[index].size == free[index + 1].offset {
            free[index].size += free[index + 1].size
            free.remove(at: index + 1)
        }
        if index > 0, free[index - 1].offset + free[index - 1].size == free[index].offset {
            free[index - 1].size += free[index].size
            free.remove(at: index)
            index -= 1
        }
    }
}
