#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EnclavaCrypto

/// A failed system call: which call, on which path, and the `errno` it set.
struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open`, `read`, `write`, `mkdir`, `rmdir`.
    let call: String
    /// The path it was made on.
    let path: String
    /// The `errno` value.
    let code: Int32

    /// `write(/sys/…/inblob): EINVAL (Invalid argument)`.
    var description: String { "\(call)(\(path)): \(SystemCallError.describe(code))" }

    /// `ENXIO (No such device or address)`.
    static func describe(_ code: Int32) -> String {
        let reason = String(cString: strerror(code))
        return names[code].map { "\($0) (\(reason))" } ?? "errno \(code) (\(reason))"
    }

    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO", EBADF: "EBADF",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST",
        ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENOTTY: "ENOTTY", EFBIG: "EFBIG",
        ENOSPC: "ENOSPC", EROFS: "EROFS", ERANGE: "ERANGE", ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY",
        ETIMEDOUT: "ETIMEDOUT", EOPNOTSUPP: "EOPNOTSUPP", EBADMSG: "EBADMSG", ENOSR: "ENOSR",
    ]
}

/// The file operations of the configfs-tsm and Gramine backends, so that tests can stand in for the
/// kernel (or Gramine) behind a temporary directory. Every failure carries the `errno`.
protocol PlatformFileSystem: Sendable {
    /// `mkdir(path, 0700)`.
    func makeDirectory(atPath path: String) throws(SystemCallError)
    /// `rmdir(path)`.
    func removeDirectory(atPath path: String) throws(SystemCallError)
    /// Reads a whole file, at most `maxBytes + 1` bytes (so that a caller sees an oversized file).
    func read(atPath path: String, maxBytes: Int) throws(SystemCallError) -> [UInt8]
    /// Reads a whole secret file (at most `maxBytes + 1` bytes) straight into ``SecureBytes``.
    func readSecret(atPath path: String, maxBytes: Int) throws(SystemCallError) -> SecureBytes
    /// Opens an existing file write-only, writes all of `bytes` and closes it (configfs and Gramine
    /// commit attribute writes on close).
    func write(_ bytes: [UInt8], atPath path: String) throws(SystemCallError)
    /// True when something exists at `path`.
    func exists(atPath path: String) -> Bool
}

/// ``PlatformFileSystem`` over the real POSIX calls.
struct POSIXFileSystem: PlatformFileSystem {
    func makeDirectory(atPath path: String) throws(SystemCallError) {
        guard mkdir(path, 0o700) == 0 else { throw SystemCallError(call: "mkdir", path: path, code: errno) }
    }

    func removeDirectory(atPath path: String) throws(SystemCallError) {
        guard rmdir(path) == 0 else { throw SystemCallError(call: "rmdir", path: path, code: errno) }
    }

    func read(atPath path: String, maxBytes: Int) throws(SystemCallError) -> [UInt8] {
        var secret = try readSecret(atPath: path, maxBytes: maxBytes)
        defer { secret = SecureBytes(count: 0) }
        return secret.unsafeCopyToArray()
    }

    func readSecret(atPath path: String, maxBytes: Int) throws(SystemCallError) -> SecureBytes {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let capacity = maxBytes + 1
        var buffer = SecureBytes(count: capacity)
        var filled = 0
        let failure: Int32? = buffer.withUnsafeMutableBytes { raw in
            while filled < capacity {
                let count = Glibc.read(fd, raw.baseAddress! + filled, capacity - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if count == 0 { break }
                filled += count
            }
            return nil
        }
        if let failure { throw SystemCallError(call: "read", path: path, code: failure) }
        return buffer.slice(0..<filled)
    }

    func write(_ bytes: [UInt8], atPath path: String) throws(SystemCallError) {
        let fd = try open(path, O_WRONLY)
        var written = 0
        let failure: Int32? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return nil
        }
        // configfs binary attributes are committed when the file is closed: that is where the kernel
        // reports EINVAL, EFBIG or EBUSY.
        let closed = close(fd) == 0 ? nil : errno
        if let failure { throw SystemCallError(call: "write", path: path, code: failure) }
        if let closed { throw SystemCallError(call: "close", path: path, code: closed) }
    }

    func exists(atPath path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    private func open(_ path: String, _ flags: Int32) throws(SystemCallError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno != EINTR { throw SystemCallError(call: "open", path: path, code: errno) }
        }
    }
}
