#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EnclavaCrypto

/// Writes a file through a temporary sibling that is renamed over the destination on ``commit()``.
///
/// Readers of `destination` see either the old file or the complete new one, never a partial
/// write. If the object is released without a commit (an error was thrown), the temporary file
/// is closed and removed.
final class AtomicOutputFile {
    let destination: String
    let temporaryPath: String
    private var fd: Int32
    private var committed = false

    /// Creates the temporary file with `mode` (e.g. `0o600`) in the destination's folder.
    init(destination: String, mode: mode_t) throws {
        self.destination = destination
        let slash = destination.lastIndex(of: "/")
        let folder = slash.map { String(destination[..<$0]) } ?? "."
        let base = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        guard !base.isEmpty, base != ".", base != ".." else {
            throw ImageError(.outputUnwritable, "is not a file name; give a path such as out/model.eimg", path: destination)
        }
        let suffix = SecureRandom.bytes(count: 6).map { String($0, radix: 16) }.joined()
        temporaryPath = (folder.isEmpty ? "" : folder + "/") + ".\(base).tmp-\(suffix)"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ImageError(.outputUnwritable, "cannot create a file in \(folder.isEmpty ? "/" : folder): \(systemError())",
                             path: destination)
        }
        // The umask must not widen or narrow the requested mode.
        _ = fchmod(fd, mode)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    /// Appends all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(.outputUnwritable, "write failed: \(systemError())", path: destination)
            }
            done += n
        }
    }

    /// Appends all of `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes, closes and moves the temporary file to the destination.
    ///
    /// - Parameter overwrite: When `false`, an existing destination is an error (checked
    ///   atomically with `link(2)`); when `true`, it is replaced with `rename(2)`.
    func commit(overwrite: Bool = true) throws {
        guard fsync(fd) == 0 else {
            throw ImageError(.outputUnwritable, "fsync failed: \(systemError())", path: destination)
        }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw ImageError(.outputUnwritable, "close failed: \(systemError())", path: destination) }
        if overwrite {
            guard rename(temporaryPath, destination) == 0 else {
                throw ImageError(.outputUnwritable, "cannot rename into place: \(systemError())", path: destination)
            }
        } else {
            guard link(temporaryPath, destination) == 0 else {
                let code = errno
                if code == EEXIST {
                    throw ImageError(.outputUnwritable, "already exists; remove it or choose another path", path: destination)
                }
                throw ImageError(.outputUnwritable, "cannot create: \(systemError(code))", path: destination)
            }
            unlink(temporaryPath)
        }
        committed = true
    }
}

/// `write(2)`, out of reach of the `write` methods above.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
