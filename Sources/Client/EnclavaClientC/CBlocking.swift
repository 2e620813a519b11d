import Dispatch

/// Runs an async body to completion on Swift's concurrency threads and blocks the calling (C) thread until it
/// finishes: the C ABI is synchronous, the Swift client is async. The calling thread must not be one of Swift
/// concurrency's own (the header says so), or it could wait on work that needs it.
func blockingRun<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let outcome = BlockingOutcome<T>()
    Task.detached {
        do {
            outcome.result = .success(try await body())
        } catch {
            outcome.result = .failure(error)
        }
        outcome.semaphore.signal()
    }
    outcome.semaphore.wait()
    return outcome.result ?? .failure(CABIError(.internal, "the call ended without a result"))
}

/// The result slot of ``blockingRun(_:)``: written by the task before it signals, read by the waiter after.
private final class BlockingOutcome<T: Sendable>: @unchecked Sendable {
    let semaphore = DispatchSemaphore(value: 0)
    var result: Result<T, any Error>?
}
