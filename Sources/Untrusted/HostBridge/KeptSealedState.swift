import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The host's copy of an enclave's sealed state (`enclava serve --state-dir`): a file the bridge reads to offer at
/// start and replaces with each blob the enclave hands over. The bridge never interprets it (ciphertext only the
/// enclave's platform opens); a blob that is damaged or foreign is the enclave's to refuse.
///
/// Hostile-file rules: only a regular file is read (never through a symbolic link), at most ``maxBytes``; a
/// replacement is written to a fresh 0600 file beside it, flushed, and renamed over it, so a crash leaves the old
/// blob or the new one, never a mix.
public struct KeptSealedState: Sendable {
    /// The file.
    public let path: String
    /// The largest blob kept (a sealed state is a few hundred bytes).
    public static let maxBytes = 64 << 10

    public init(path: String) { self.path = path }

    /// The kept blob; empty when there is none yet.
    /// - Throws: ``HostBridgeError`` `invalidConfiguration` for a path that is not a regular file, or one too large.
    public func read() throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw HostBridgeError(.invalidConfiguration, "cannot read the sealed state \(path): \(String(cString: strerror(errno))) "
                                  + "(it must be a regular file, not a symbolic link)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw HostBridgeError(.invalidConfiguration, "the sealed state \(path) is not a regular file; remove it")
        }
        guard info.st_size <= Self.maxBytes else {
            throw HostBridgeError(.invalidConfiguration, "the sealed state \(path) has \(info.st_size) bytes, more than "
                                  + "the \(Self.maxBytes) a sealed state can have; remove it")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        return Array(bytes[0..<offset])
    }

    /// Replaces the kept blob atomically (0600).
    /// - Throws: ``HostBridgeError`` `invalidConfiguration` naming what failed; the old blob is left as it was.
    public func write(_ blob: [UInt8]) throws {
        guard blob.count <= Self.maxBytes else {
            throw HostBridgeError(.invalidConfiguration, "the enclave handed over \(blob.count) bytes of sealed state, more "
                                  + "than the \(Self.maxBytes) a sealed state can have; not kept")
        }
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw HostBridgeError(.invalidConfiguration, "cannot write the sealed state beside \(path): \(String(cString: strerror(errno)))")
        }
        var offset = 0
        var failure: Int32 = 0
        while offset < blob.count {
            let n = blob[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { failure = errno; break }
            offset += n
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(temporary)
            throw HostBridgeError(.invalidConfiguration, "cannot replace the sealed state \(path): \(String(cString: strerror(failure)))")
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }
}
