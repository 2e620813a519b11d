import Foundation
import Logging
import NIOConcurrencyHelpers

/// A launched enclave child process: its stderr tail, its exit, and signals to it.
public final class EnclaveProcess: Sendable {
    private struct State {
        var stderrLines: [String] = []
        var partialLine = ""
        var exitStatus: Int32?
        var exitDescription: String?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// How many stderr lines are kept for error messages.
    static let keptStderrLines = 30

    private let process: UncheckedProcess
    private let shared = NIOLockedValueBox(State())
    /// The write end of the enclave's lifeline (its standard input), held open, never written, until this
    /// process object goes away — so the enclave (`enclava-runtime --exit-with-parent`) sees end of file exactly
    /// when the bridge is gone, however it died.
    private let lifeline: UncheckedHandle

    private struct UncheckedHandle: @unchecked Sendable { let value: FileHandle }

    /// The child's process id (valid once launched).
    var pid: Int32 { self.process.value.processIdentifier }

    private struct UncheckedProcess: @unchecked Sendable { let value: Process }

    private init(process: Process, lifeline: FileHandle) {
        self.process = UncheckedProcess(value: process)
        self.lifeline = UncheckedHandle(value: lifeline)
    }

    /// Starts `executable` with `arguments`; stderr lines go to `logger` and to the kept tail.
    ///
    /// - Throws: ``HostBridgeError`` `launchFailed` naming the executable and the cause.
    static func launch(executablePath: String, arguments: [String], environment: [String: String]?,
                       logger: Logger) async throws -> EnclaveProcess {
        guard FileManager.default.isExecutableFile(atPath: executablePath) else {
            throw HostBridgeError(.launchFailed, "the enclave executable \(executablePath) does not exist or is not executable")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stderr = Pipe()
        process.standardError = stderr
        // The lifeline: both ends close-on-exec (fd 0 in the child is a dup2 of the read end, which clears it),
        // so no other child inherits the write end and keeps the enclave alive after the bridge dies.
        let lifeline = Pipe()
        for handle in [lifeline.fileHandleForReading, lifeline.fileHandleForWriting] {
            _ = fcntl(handle.fileDescriptor, F_SETFD, FD_CLOEXEC)
        }
        process.standardInput = lifeline
        let launched = EnclaveProcess(process: process, lifeline: lifeline.fileHandleForWriting)
        // Signalled when stderr reaches end of file, so that an exit is reported only after the last lines
        // the enclave wrote (usually the reason it exited) have been read.
        let stderrDrained = DispatchSemaphore(value: 0)
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                launched.flushPartialLine(logger: logger)
                stderrDrained.signal()
            } else {
                launched.appendStderr(data, logger: logger)
            }
        }
        process.terminationHandler = { finished in
            // Bounded: a grandchild that inherited stderr could keep it open after the enclave exits.
            _ = stderrDrained.wait(timeout: .now() + .seconds(2))
            launched.markExited(status: finished.terminationStatus,
                                signalled: finished.terminationReason == .uncaughtSignal)
        }
        do {
            try await Self.withDefaultSignalMask { [box = launched.process] in try box.value.run() }
        } catch {
            stderr.fileHandleForReading.readabilityHandler = nil
            throw HostBridgeError(.launchFailed, "cannot start the enclave \(executablePath): \(error)")
        }
        return launched
    }

    /// Runs `body` on a fresh thread whose signal mask is empty.
    ///
    /// Foundation's `Process` passes the calling thread's signal mask on to the child, and the threads of the
    /// Swift concurrency pool block almost every signal: a child spawned from them would ignore SIGTERM and
    /// SIGINT. Spawning from a clean thread gives the enclave the default mask. (Public: `enclava vm launch`
    /// starts QEMU the same way, or QEMU would ignore the SIGTERM that stops the VM.)
    public static func withDefaultSignalMask(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "enclava-spawn"
            thread.start()
        }
    }

    private func appendStderr(_ data: Data, logger: Logger) {
        let text = String(decoding: data, as: UTF8.self)
        let lines: [String] = self.shared.withLockedValue { state in
            var pieces = (state.partialLine + text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            state.partialLine = pieces.removeLast()
            state.stderrLines.append(contentsOf: pieces)
            if state.stderrLines.count > Self.keptStderrLines {
                state.stderrLines.removeFirst(state.stderrLines.count - Self.keptStderrLines)
            }
            return pieces
        }
        for line in lines { logger.info("enclave: \(line)") }
    }

    private func flushPartialLine(logger: Logger) {
        let line: String? = self.shared.withLockedValue { state in
            guard !state.partialLine.isEmpty else { return nil }
            let line = state.partialLine
            state.partialLine = ""
            state.stderrLines.append(line)
            return line
        }
        if let line { logger.info("enclave: \(line)") }
    }

    private func markExited(status: Int32, signalled: Bool) {
        let waiters: [CheckedContinuation<Void, Never>] = self.shared.withLockedValue { state in
            state.exitStatus = status
            state.exitDescription = signalled ? "was killed by signal \(status)" : "exited with status \(status)"
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The last lines the enclave wrote to stderr.
    var stderrTail: [String] {
        self.shared.withLockedValue { state in
            state.partialLine.isEmpty ? state.stderrLines : state.stderrLines + [state.partialLine]
        }
    }

    /// `nil` while running; otherwise "exited with status N" or "was killed by signal N".
    var exitDescription: String? { self.shared.withLockedValue { $0.exitDescription } }

    /// Whether the process has exited.
    var hasExited: Bool { self.exitDescription != nil }

    /// Returns once the process has exited.
    func waitForExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.shared.withLockedValue { state -> Bool in
                if state.exitStatus != nil { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Waits for the exit at most `timeout`. Returns whether the process exited.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !self.hasExited, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return self.hasExited
    }

    /// Sends `signal` unless the process has exited.
    func send(signal: Int32) {
        guard !self.hasExited else { return }
        _ = kill(self.pid, signal)
    }
}
