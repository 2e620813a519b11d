import EnclavaTesting
import Foundation
import Glibc
import Testing

/// The flaky `ENCLAVE_UNAVAILABLE … Connection reset by peer` in full test runs: a test helper whose failed
/// connect closed its descriptor twice (once in the throwing initializer, once more in `deinit`) closed
/// whatever another thread had opened under that number in between — in a full run, a bridge ↔ stand-in
/// enclave socket. These tests race failing connects against a thread that checks its own descriptors.
@Suite(.serialized) struct DescriptorOwnershipTests {
    /// Opens pipes while `body` runs and reports how many of them were closed or replaced by someone else.
    private static func stolenDescriptors(while body: @escaping @Sendable () -> Void) -> Int {
        let done = ManagedAtomicFlag()
        let stolen = Counter()
        let watcher = Thread {
            while !done.isSet {
                var ends: [Int32] = [-1, -1]
                guard pipe(&ends) == 0 else { continue }
                var before = stat(), after = stat()
                fstat(ends[0], &before)
                for _ in 0..<20 { sched_yield() }
                if fstat(ends[0], &after) != 0 || after.st_ino != before.st_ino || after.st_mode != before.st_mode {
                    stolen.increment()
                    continue   // not ours any more: do not close it
                }
                close(ends[0])
                close(ends[1])
            }
            done.finished()
        }
        watcher.start()
        body()
        done.set()
        done.waitForFinish()
        return stolen.value
    }

    @Test func aFailedTCPConnectClosesOnlyItsOwnDescriptor() {
        let port = TestProcess.freeTCPPort()   // nothing listens there
        let stolen = Self.stolenDescriptors {
            for _ in 0..<3000 { #expect((try? RawSocket(port: port)) == nil) }
        }
        #expect(stolen == 0, "a failed RawSocket(port:) closed \(stolen) descriptor(s) it did not own")
    }

    @Test func aFailedUnixConnectClosesOnlyItsOwnDescriptor() {
        let path = temporaryPath("nothing")
        let stolen = Self.stolenDescriptors {
            for _ in 0..<3000 { #expect((try? RawSocket(unixPath: path)) == nil) }
        }
        #expect(stolen == 0, "a failed RawSocket(unixPath:) closed \(stolen) descriptor(s) it did not own")
    }
}

/// A flag set once, plus a wait for the watcher thread to finish.
private final class ManagedAtomicFlag: @unchecked Sendable {
    private let condition = NSCondition()
    private var flag = false
    private var over = false
    var isSet: Bool { self.condition.withLock { self.flag } }
    func set() { self.condition.withLock { self.flag = true } }
    func finished() { self.condition.withLock { self.over = true; self.condition.broadcast() } }
    func waitForFinish() { self.condition.withLock { while !self.over { self.condition.wait() } } }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { self.lock.withLock { self.count += 1 } }
    var value: Int { self.lock.withLock { self.count } }
}
