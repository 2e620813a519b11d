import Foundation

/// A real child process for integration tests: run to completion, or start in the background.
public final class TestProcess: @unchecked Sendable {
    /// What a finished process left behind.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public let process = Process()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var outData = Data()
    private var errData = Data()

    /// Prepares `executable` with `arguments` and extra environment variables.
    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) {
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.lock.lock(); self.outData.append(chunk); self.lock.unlock()
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.lock.lock(); self.errData.append(chunk); self.lock.unlock()
        }
    }

    /// Starts the process in the background.
    ///
    /// `Process` passes the calling thread's signal mask on to the child, and Swift concurrency threads block
    /// most signals, so the child is spawned from a fresh thread with an empty mask: it then reacts to
    /// SIGTERM and SIGINT as it would when started from a shell.
    public func start() throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        let process = self.process
        let thread = Thread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do { try process.run() } catch { failure = error }
            done.signal()
        }
        thread.start()
        done.wait()
        if let failure { throw failure }
    }

    /// Output so far.
    public var stdoutSoFar: String { lock.lock(); defer { lock.unlock() }; return String(decoding: outData, as: UTF8.self) }
    public var stderrSoFar: String { lock.lock(); defer { lock.unlock() }; return String(decoding: errData, as: UTF8.self) }

    /// Sends a signal (e.g. SIGTERM).
    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit, killing the process after `timeout` seconds.
    @discardableResult
    public func wait(timeout: TimeInterval = 120) -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            usleep(200_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        process.waitUntilExit()
        usleep(50_000)
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
        let restOut = (try? outPipe.fileHandleForReading.readToEnd()) ?? nil
        let restErr = (try? errPipe.fileHandleForReading.readToEnd()) ?? nil
        lock.lock()
        if let restOut { outData.append(restOut) }
        if let restErr { errData.append(restErr) }
        let result = Result(status: process.terminationStatus,
                            stdout: String(decoding: outData, as: UTF8.self),
                            stderr: String(decoding: errData, as: UTF8.self))
        lock.unlock()
        return result
    }

    /// Runs to completion and returns what it printed.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           timeout: TimeInterval = 120) throws -> Result {
        let child = TestProcess(executable, arguments, environment: environment)
        try child.start()
        return child.wait(timeout: timeout)
    }

    /// ``run(_:_:environment:timeout:)`` from an async test without holding a Swift concurrency thread while the child
    /// runs: the wait happens on a thread of its own. (On 2 cores the pool has 2 threads; tests that waited for
    /// subprocesses on them starved every other suite's servers for a minute.)
    public static func runOffPool(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                                  timeout: TimeInterval = 120) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            Thread {
                continuation.resume(with: Swift.Result { try run(executable, arguments, environment: environment, timeout: timeout) })
            }.start()
        }
    }

    /// A free TCP port on 127.0.0.1 (bound and released; fine for tests on one machine).
    public static func freeTCPPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
