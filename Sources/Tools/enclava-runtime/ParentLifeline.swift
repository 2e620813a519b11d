import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--exit-with-parent`: standard input is a pipe whose write end only the launching parent (`enclava serve`,
/// `enclava run`) holds and never writes to. When the parent dies — by a clean exit, a crash or `kill -9` — the
/// kernel closes that end and a read here returns end of file; a parent that died before the watch began is
/// noticed at the first read, because the end of file is already there.
///
/// `PR_SET_PDEATHSIG` is not used: it fires when the parent *thread* that forked the child exits, and Foundation
/// spawns the enclave from a short-lived thread, so it would stop every enclave right after launch.
enum ParentLifeline {
    /// Watches standard input on a thread of its own and calls `parentGone` once, when it closes or fails.
    static func watch(_ parentGone: @escaping @Sendable (String) -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count > 0 { continue }   // the parent never writes; ignore anything that arrives
                if count < 0, errno == EINTR { continue }
                parentGone(count == 0 ? "the launching process exited (its lifeline pipe closed)"
                                      : "the lifeline pipe failed: \(String(cString: strerror(errno)))")
                return
            }
        }
        thread.name = "enclava-lifeline"
        thread.start()
    }

    /// Removes the runtime's own socket files and then their folder if nothing else is left in it: the parent that
    /// made the folder is gone and would otherwise leave it behind. Never removes anything but empty folders.
    static func removeSockets(_ paths: [String]) {
        for path in paths { unlink(path) }
        for folder in Set(paths.map { ($0 as NSString).deletingLastPathComponent }) where folder.count > 1 {
            rmdir(folder)
        }
    }
}
