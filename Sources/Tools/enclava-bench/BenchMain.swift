import Foundation

/// Runs a benchmark subcommand's async body from synchronous `main`: waits for it, prints a failure on stderr as
/// `enclava-bench NAME: error`, and exits 0 when the body returns true, 1 otherwise.
enum BenchMain {
    static func run(_ name: String, _ body: @escaping @Sendable () async throws -> Bool) -> Never {
        let done = DispatchSemaphore(value: 0)
        let status = Status()
        Task {
            do {
                status.value = try await body() ? 0 : 1
            } catch {
                FileHandle.standardError.write(Data("enclava-bench \(name): \(error)\n".utf8))
                status.value = 1
            }
            done.signal()
        }
        done.wait()
        exit(status.value)
    }

    private final class Status: @unchecked Sendable { var value: Int32 = 0 }
}
