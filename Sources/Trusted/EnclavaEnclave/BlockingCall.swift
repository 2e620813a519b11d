import Foundation

/// Runs async work to completion for a C caller that must block: an ecall's host thread waits here while the
/// enclave's task runs, as an SGX host thread stays inside the enclave for the length of its ecall. Never called on
/// a Swift concurrency thread (the host's ecall threads are its own), so the wait cannot starve the task it waits for.
enum BlockingCall {
    private final class Box<Value>: @unchecked Sendable {
        var value: Value?
    }

    /// The value `body` returns, after blocking the calling thread until it does.
    static func run<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
        let box = Box<Value>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}
