#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file descriptor with exact positional reads; closed on deinit.
final class InputFile {
    let path: String
    private let fd: Int32
    /// The file's size when it was opened.
    let size: UInt64

    /// Opens `path` for reading; `ImageError(.fileUnreadable)` when it is missing, unreadable or not a regular file.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(.fileUnreadable, "cannot open: \(systemError())", path: path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = systemError()
            close(fd)
            throw ImageError(.fileUnreadable, "cannot stat: \(reason)", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ImageError(.fileUnreadable, "not a regular file", path: path)
        }
        self.fd = fd
        self.size = UInt64(info.st_size)
    }

    deinit { close(fd) }

    /// Fills `buffer` from `offset`, or returns the number of bytes read before end of file.
    @discardableResult
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(.fileUnreadable, "read failed: \(systemError())", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset`; `ImageError(.truncated)` at early end of file.
    func readExactly(_ count: Int, at offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        guard got == count else {
            throw ImageError(.truncated, "file ends at byte \(offset + UInt64(got)), expected \(count) bytes at offset \(offset); the image is truncated, copy it again", path: path)
        }
        return bytes
    }
}

/// The current `errno` as text.
func systemError(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
