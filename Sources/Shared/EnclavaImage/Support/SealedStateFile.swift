#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EnclavaCrypto

/// The file that holds an image's sealed state between starts (DESIGN.md §7, sealed restart): named by the
/// image's manifest digest in the host's state directory (`enclava serve --state-dir`), written by the
/// enclave runtime (`--sealed-state PATH`) with an atomic rename, mode 0600. The content is ciphertext that
/// only the enclave can open; this type reads and writes bytes and never parses them.
public enum SealedStateFile {
    /// The file name suffix.
    public static let fileExtension = "sealed"
    /// The most bytes read from a sealed-state file; a larger file is refused (a sealed state has a few hundred).
    public static let maxReadBytes = 4096

    /// `<manifest digest in lower-case hex>.sealed`: one file per image.
    public static func fileName(manifestDigest: [UInt8]) -> String {
        Hex.encode(manifestDigest) + "." + fileExtension
    }

    /// The file's bytes, or nil when there is no file at `path`. Refuses a symbolic link, anything that is not a
    /// regular file, and a file over ``maxReadBytes`` (without reading it).
    /// - Throws: ``ImageError`` `.fileUnreadable` naming the path and the reason.
    public static func read(path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            let reason = code == ELOOP ? "it is a symbolic link; sealed state must be a regular file" : systemError(code)
            throw ImageError(.fileUnreadable, "cannot open the sealed state: \(reason)", path: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError(.fileUnreadable, "the sealed state is not a regular file; remove it", path: path)
        }
        guard info.st_size <= maxReadBytes else {
            throw ImageError(.fileUnreadable, "the sealed state has \(info.st_size) bytes, more than any sealed state "
                + "(\(maxReadBytes)); remove it", path: path)
        }
        var bytes = [UInt8](repeating: 0, count: maxReadBytes + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageError(.fileUnreadable, "cannot read the sealed state: \(systemError())", path: path)
            }
            if count == 0 { break }
            filled += count
        }
        guard filled <= maxReadBytes else {
            throw ImageError(.fileUnreadable, "the sealed state grew past \(maxReadBytes) bytes while it was read; remove it",
                             path: path)
        }
        return Array(bytes[..<filled])
    }

    /// Replaces the file at `path` with `bytes` atomically (a temporary sibling, fsync, rename), mode 0600: a
    /// reader sees the old blob or the new one, never a part.
    /// - Throws: ``ImageError`` `.outputUnwritable`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let output = try AtomicOutputFile(destination: path, mode: 0o600)
        try output.write(bytes)
        try output.commit(overwrite: true)
    }
}
