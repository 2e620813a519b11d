import Foundation

/// A bounded work queue served by dedicated worker threads (DESIGN.md §5, execution loop), so that model
/// runs never block the NIO event loops.
///
/// ``tryEnqueue(_:)`` refuses at once when `capacity` items are already waiting (the caller answers
/// RESOURCE_EXHAUSTED); an item that a worker has picked up no longer counts against the capacity.
/// A worker takes the oldest waiting item together with up to `maxBatch - 1` later items that
/// `isCompatible` pairs with it, and hands them to `process` as one batch.
/// ``shutdown()`` stops accepting, lets the workers finish every queued item, and joins them.
public final class InferenceQueue<Item: Sendable>: @unchecked Sendable {
    /// The most items waiting at once.
    public let capacity: Int
    /// Worker threads.
    public let threadCount: Int
    /// The most items in one batch.
    public let maxBatch: Int

    /// How far past the oldest item a worker looks for batch partners.
    static var maxScan: Int { 1024 }

    private let isCompatible: @Sendable (Item, Item) -> Bool
    private let process: @Sendable ([Item]) -> Void
    private let condition = NSCondition()
    private var waiting: [Item?] = []   // taken slots are set to nil so captured plaintext is released
    private var waitingHead = 0
    private var waitingItems = 0
    private var running = 0
    private var accepting = true
    private var liveWorkers = 0
    private var started = false

    /// Creates a stopped queue.
    /// - Parameters:
    ///   - threads: worker threads (at least 1).
    ///   - capacity: items that may wait (at least 1).
    ///   - maxBatch: items per batch (at least 1).
    ///   - isCompatible: whether the second item may join a batch that starts with the first.
    ///   - process: runs one batch, on a worker thread.
    public init(threads: Int, capacity: Int, maxBatch: Int = 1,
                isCompatible: @escaping @Sendable (Item, Item) -> Bool = { _, _ in false },
                process: @escaping @Sendable ([Item]) -> Void) {
        self.threadCount = max(1, threads)
        self.capacity = max(1, capacity)
        self.maxBatch = max(1, maxBatch)
        self.isCompatible = isCompatible
        self.process = process
    }

    /// Starts the worker threads (once).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        liveWorkers = threadCount
        for index in 0..<threadCount {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "enclava-worker-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Items waiting (not yet picked up by a worker).
    public var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return waitingItems
    }

    /// Items a worker is processing.
    public var runningCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// Queues `item`, or returns false at once when the queue is full or shut down.
    public func tryEnqueue(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard accepting, waitingItems < capacity else { return false }
        waiting.append(item)
        waitingItems += 1
        condition.signal()
        return true
    }

    /// Stops accepting items, waits until every queued and running item has been processed, and stops
    /// the workers.
    public func shutdown() async {
        guard stopAccepting() else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let joiner = Thread { [self] in
                self.condition.lock()
                while self.liveWorkers > 0 { self.condition.wait() }
                self.condition.unlock()
                continuation.resume()
            }
            joiner.name = "enclava-worker-join"
            joiner.start()
        }
    }

    /// Stops accepting and wakes the workers; returns whether workers were started.
    private func stopAccepting() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        accepting = false
        condition.broadcast()
        return started
    }

    private func workerLoop() {
        while let batch = nextBatch() {
            process(batch)
            condition.lock()
            running -= batch.count
            condition.unlock()
        }
        condition.lock()
        liveWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for work and takes the oldest item plus compatible later ones.
    private func nextBatch() -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while waitingItems == 0 {
            if !accepting { return nil }
            condition.wait()
        }
        while waiting[waitingHead] == nil { waitingHead += 1 }
        let first = waiting[waitingHead]!
        waiting[waitingHead] = nil
        waitingHead += 1
        var batch = [first]
        var index = waitingHead
        let scanEnd = min(waiting.count, index + Self.maxScan)
        while batch.count < maxBatch, index < scanEnd {
            if let candidate = waiting[index], isCompatible(first, candidate) {
                batch.append(candidate)
                waiting[index] = nil
            }
            index += 1
        }
        waitingItems -= batch.count
        running += batch.count
        if waitingItems == 0 {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        return batch
    }
}
