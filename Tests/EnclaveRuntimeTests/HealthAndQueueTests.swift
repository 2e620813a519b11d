import EnclavaWire
import Foundation
import Synchronization
import Testing
@testable import EnclaveRuntime

@Suite struct HealthStateMachineTests {
    @Test func startingLoadingReady() {
        var health = HealthStateMachine()
        #expect(health.state == .starting)
        #expect(!health.isServing)
        let loading = health.beginLoading()
        #expect(loading)
        #expect(health.wireState.state == .loading)
        let loaded = health.loaded()
        #expect(loaded)
        #expect(health.isServing)
        #expect(health.wireState.state == .ready)
        let lateFailure = health.failed("late")
        #expect(!lateFailure)
        #expect(health.state == .ready)
    }

    @Test func failureIsOneLine() {
        var health = HealthStateMachine()
        health.beginLoading()
        let failed = health.failed("cannot lock\nsealed memory")
        #expect(failed)
        #expect(health.state == .failed(reason: "cannot lock sealed memory"))
        #expect(health.wireState.state == .failed)
        let loaded = health.loaded()
        #expect(!loaded)
        #expect(health.notServingError.reason == RuntimeReason.notReady)
    }

    @Test func stoppingRefusesRequests() {
        var health = HealthStateMachine()
        health.beginLoading()
        health.loaded()
        let first = health.stop()
        let second = health.stop()
        #expect(first && !second)
        #expect(!health.isServing)
        #expect(health.notServingError.reason == RuntimeReason.shuttingDown)
        #expect(health.notServingError.code == .unavailable)
    }
}

typealias Job = @Sendable () -> Void

@Suite struct InferenceQueueTests {
    @Test func aFullQueueRefusesAtOnceAndShutdownDrains() async {
        let queue = InferenceQueue<Job>(threads: 1, capacity: 2) { jobs in for job in jobs { job() } }
        queue.start()
        let gate = Gate()
        let done = Atomic<Int>(0)
        // The worker picks up the first job and blocks on the gate; two more fill the queue.
        #expect(queue.tryEnqueue { gate.wait(); done.add(1, ordering: .relaxed) })
        while queue.waitingCount > 0 { await Task.yield() }
        #expect(queue.tryEnqueue { done.add(1, ordering: .relaxed) })
        #expect(queue.tryEnqueue { done.add(1, ordering: .relaxed) })
        #expect(!queue.tryEnqueue { done.add(100, ordering: .relaxed) })
        gate.open()
        await queue.shutdown()
        #expect(done.load(ordering: .relaxed) == 3)
        #expect(!queue.tryEnqueue {})
    }

    @Test func compatibleItemsAreBatchedUpToMaxBatch() async {
        let gate = Gate()
        let batches = Mutex<[[Int]]>([])
        let queue = InferenceQueue<Int>(threads: 1, capacity: 16, maxBatch: 3,
                                        isCompatible: { $0 % 2 == $1 % 2 }) { items in
            if items == [0] { gate.wait() }
            batches.withLock { $0.append(items) }
        }
        queue.start()
        #expect(queue.tryEnqueue(0))
        while queue.runningCount == 0 { await Task.yield() }
        for item in [1, 2, 3, 4, 5, 7, 6] { #expect(queue.tryEnqueue(item)) }
        gate.open()
        await queue.shutdown()
        // Oldest first, with compatible partners in arrival order, at most 3 per batch.
        #expect(batches.withLock { $0 } == [[0], [1, 3, 5], [2, 4, 6], [7]])
    }
}

/// A one-shot gate for worker threads.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }
}
