import Foundation

/// A bounded work queue served by dedicated worker threads (DESIGN.md §5, execution loop), so that model
/// runs never block the NIO event loops.
///
/// ``tryEnqueue(_:)`` refuses at once when `capacity` jobs are already waiting (the caller answers
/// RESOURCE_EXHAUSTED); a job that a worker has picked up no longer counts against the capacity.
/// ``shutdown()`` stops accepting, lets the workers finish every queued job, and joins them.
public final class InferenceQueue: @unchecked Sendable {
    /// A unit of work; it runs on a worker thread.
    public typealias Job = @Sendable () -> Void

    /// The most jobs waiting at once.
    public let capacity: Int
    /// Worker threads.
    public let threadCount: Int

    private let condition = NSCondition()
    private var waiting: [Job?] = []   // popped slots are set to nil so captured plaintext is released
    private var waitingHead = 0
    private var running = 0
    private var accepting = true
    private var liveWorkers = 0
    private var started = false

    /// Creates a stopped queue.
    /// - Parameters:
    ///   - threads: worker threads (at least 1).
    ///   - capacity: jobs that may wait (at least 1).
    public init(threads: Int, capacity: Int) {
        self.threadCount = max(1, threads)
        self.capacity = max(1, capacity)
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

    /// Jobs waiting (not yet picked up by a worker).
    public var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count - waitingHead
    }

    /// Jobs a worker is running.
    public var runningCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// Queues `job`, or returns false at once when the queue is full or shut down.
    public func tryEnqueue(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard accepting, waiting.count - waitingHead < capacity else { return false }
        waiting.append(job)
        condition.signal()
        return true
    }

    /// Stops accepting jobs, waits until every queued and running job has finished, and stops the workers.
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
        while let job = nextJob() {
            job()
            condition.lock()
            running -= 1
            condition.unlock()
        }
        condition.lock()
        liveWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func nextJob() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count == waitingHead {
            if !accepting { return nil }
            condition.wait()
        }
        let job = waiting[waitingHead]
        waiting[waitingHead] = nil
        waitingHead += 1
        if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        running += 1
        return job
    }
}
