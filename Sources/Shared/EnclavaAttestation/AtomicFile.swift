import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file-system failure, with the path and `errno` text.
struct FileSystemError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let errnoValue: Int32

    init(_ operation: String, _ path: String) {
        self.operation = operation
        self.path = path
        self.errnoValue = errno
    }

    var description: String { "\(operation) \(path): \(String(cString: strerror(errnoValue)))" }
}

/// Writes files so that a reader sees either the old content or the whole new content, never a part.
enum AtomicFile {
    /// Writes `bytes` to a new temporary file beside `path` with `mode`, flushes it, and renames it over `path`.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try bytes.withUnsafeBytes { try write(buffer: $0, to: path, mode: mode) }
    }

    /// As ``write(_:to:mode:)``, from a raw buffer (so secrets need not be copied into an array).
    static func write(buffer: UnsafeRawBufferPointer, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try createFile(buffer: buffer, at: temporary, mode: mode)
        guard rename(temporary, path) == 0 else {
            let error = FileSystemError("rename to", path)
            unlink(temporary)
            throw error
        }
        syncDirectory(of: path)
    }

    /// Creates a new file (it must not exist), writes all of `buffer`, sets `mode` exactly and fsyncs.
    /// On failure the partial file is removed.
    static func createFile(buffer: UnsafeRawBufferPointer, at path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileSystemError("create", path) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        guard fchmod(fd, mode) == 0 else { throw FileSystemError("chmod", path) }
        var written = 0
        while written < buffer.count {
            let n = posixWrite(fd, buffer.baseAddress! + written, buffer.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw FileSystemError("fsync", path) }
        ok = true
    }

    /// Flushes the directory entry of `path` (best effort).
    static func syncDirectory(of path: String) {
        let fd = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

extension AtomicFile {
    /// The folder that holds `path`: what comes before its last `/` (trailing slashes ignored), `/` for a name
    /// in the root, `.` for a bare name. Plain string work: Foundation's `NSString.deletingLastPathComponent`
    /// traps on a one-character path on Linux (`--out p` crashed `enclava policy create`).
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }

    /// The last component of `path` (trailing slashes ignored); `path` itself when it has no `/`.
    static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        let name = trimmed[trimmed.index(after: slash)...]
        return name.isEmpty ? "/" : String(name)
    }
}

private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
