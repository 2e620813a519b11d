import Foundation

/// The write end of the self-pipe the signal handler writes to (one watcher at a time).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Delivers SIGTERM/SIGINT to a closure instead of terminating the process, until cancelled.
///
/// Uses a real handler and a self-pipe rather than `SIG_IGN` + a dispatch source: an ignored signal is
/// inherited by the enclave child across exec (and dispatch sources on Linux block the signal in some
/// threads, which children would also inherit), whereas a handled signal is reset to its default in the child.
public final class SignalWatcher: Sendable {
    private struct Saved: @unchecked Sendable { let actions: [(Int32, sigaction)] }
    private let saved: Saved
    private let writeEnd: Int32

    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            self.saved = Saved(actions: [])
            self.writeEnd = -1
            return
        }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        self.writeEnd = writeEnd
        signalPipeWriteEnd = writeEnd

        var saved: [(Int32, sigaction)] = []
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(signalPipeWriteEnd, &byte, 1)   // async-signal-safe
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(number, &action, &old)
            saved.append((number, old))
        }
        self.saved = Saved(actions: saved)

        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count < 0, errno == EINTR { continue }
                if count <= 0 || byte == 0 { break }   // 0: cancelled
                handler(Int32(byte))
            }
            close(readEnd)
        }
        thread.name = "enclava-signals"
        thread.start()
    }

    /// Restores the previous handlers and stops the watcher thread.
    public func cancel() {
        for (number, old) in self.saved.actions {
            var previous = old
            sigaction(number, &previous, nil)
        }
        guard self.writeEnd >= 0 else { return }
        var stop: UInt8 = 0
        _ = write(self.writeEnd, &stop, 1)
        if signalPipeWriteEnd == self.writeEnd { signalPipeWriteEnd = -1 }
        close(self.writeEnd)
    }
}
