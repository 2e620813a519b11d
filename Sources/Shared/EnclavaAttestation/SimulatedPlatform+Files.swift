import EnclavaCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Writing

extension SimulatedPlatform {
    /// Writes `files` into a fresh staging folder (0700, files 0600) under `home`, then renames it to
    /// `home/sim`. On any failure the staging folder is removed and an existing platform is left as it was.
    static func write(files: [(String, SecureBytes)], subfolders: [String] = [], home: String, force: Bool) throws {
        try writeFolder(files: files, subfolders: subfolders, at: directory(home: home), force: force)
    }

    /// Writes `files` into a fresh staging folder beside `target` (0700, files 0600), then renames it to
    /// `target`. `subfolders` are created first (0700), so a name `sub/file` can go into one. On any failure
    /// the staging folder is removed and an existing `target` is left as it was; without `force`, an
    /// existing `target` gives `alreadyInitialized`.
    static func writeFolder(files: [(String, SecureBytes)], subfolders: [String] = [], at target: String, force: Bool) throws {
        let parent = AtomicFile.parentDirectory(of: target)
        let name = AtomicFile.lastComponent(of: target)
        let staging = (parent == "/" ? "" : parent) + "/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(staging, 0o700) == 0 else {
            throw SimulatedPlatformError(.writeFailed, "cannot create \(staging): \(String(cString: strerror(errno)))")
        }
        do {
            guard chmod(staging, 0o700) == 0 else { throw FileSystemError("chmod", staging) }
            let folders = subfolders.map { (staging as NSString).appendingPathComponent($0) }
            for folder in folders {
                guard mkdir(folder, 0o700) == 0, chmod(folder, 0o700) == 0 else { throw FileSystemError("mkdir", folder) }
            }
            for (name, content) in files {
                let path = (staging as NSString).appendingPathComponent(name)
                try content.withUnsafeBytes { try AtomicFile.createFile(buffer: $0, at: path, mode: 0o600) }
            }
            for folder in folders { AtomicFile.syncDirectory(of: (folder as NSString).appendingPathComponent("x")) }
            AtomicFile.syncDirectory(of: (staging as NSString).appendingPathComponent("x"))
            try install(staging: staging, at: target, force: force)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            if let error = error as? SimulatedPlatformError { throw error }
            throw SimulatedPlatformError(.writeFailed, "cannot write the simulated platform under \(parent): \(error)")
        }
    }

    static func createHome(_ home: String) throws {
        var status = stat()
        if stat(home, &status) == 0 { return }
        do {
            try FileManager.default.createDirectory(
                atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SimulatedPlatformError(.writeFailed, "cannot create \(home): \(error)")
        }
    }

    /// Renames the staging folder into place. With `force`, the old folder is moved aside first and
    /// restored if the rename fails.
    private static func install(staging: String, at target: String, force: Bool) throws {
        if rename(staging, target) == 0 {
            AtomicFile.syncDirectory(of: target)
            return
        }
        let firstError = errno
        guard force, firstError == EEXIST || firstError == ENOTEMPTY else {
            if firstError == EEXIST || firstError == ENOTEMPTY {
                throw SimulatedPlatformError(
                    .alreadyInitialized, "a simulated platform already exists at \(target); use "
                        + "`enclava sim init --force` to replace it")
            }
            throw SimulatedPlatformError(.writeFailed, "cannot create \(target): \(String(cString: strerror(firstError)))")
        }
        let aside = staging.replacingOccurrences(of: ".tmp-", with: ".old-")
        guard rename(target, aside) == 0 else {
            throw SimulatedPlatformError(.writeFailed, "cannot replace \(target): \(String(cString: strerror(errno)))")
        }
        guard rename(staging, target) == 0 else {
            let error = errno
            _ = rename(aside, target)
            throw SimulatedPlatformError(.writeFailed, "cannot replace \(target): \(String(cString: strerror(error)))")
        }
        AtomicFile.syncDirectory(of: target)
        try? FileManager.default.removeItem(atPath: aside)
    }
}

// MARK: - Reading

extension SimulatedPlatform {
    static func certificate(_ directory: String, _ file: String) throws -> Certificate {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SimulatedPlatformError(
                .notInitialized, "cannot read \(path); run `enclava sim init` (or `--force` to recreate it)")
        }
        do {
            return try Certificate(pem: text)
        } catch {
            throw SimulatedPlatformError(.corrupt, "\(path) is not a PEM certificate; run `enclava sim init --force`")
        }
    }

    /// Refuses a secret (or the folder) that others can access, like ssh does.
    static func checkPrivate(_ path: String, status: stat, fix: String) throws {
        guard status.st_mode & 0o077 == 0 else {
            throw SimulatedPlatformError(
                .insecurePermissions, "\(path) is accessible to other users (mode "
                    + "\(String(status.st_mode & 0o777, radix: 8))); run `\(fix) \(path)`")
        }
    }

    /// Reads a small secret file straight into zeroizing memory.
    static func readSecret(_ path: String, maxBytes: Int) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SimulatedPlatformError(
                .corrupt, "cannot read \(path): \(String(cString: strerror(errno))); run `enclava sim init --force`")
        }
        defer { close(fd) }
        var buffer = SecureBytes(count: maxBytes)
        var total = 0
        let failed: Bool = buffer.withUnsafeMutableBytes { raw in
            while total < raw.count {
                let n = read(fd, raw.baseAddress! + total, raw.count - total)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return true }
                if n == 0 { break }
                total += n
            }
            return false
        }
        guard !failed else {
            throw SimulatedPlatformError(.corrupt, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard total < maxBytes || maxBytes == 0 else {
            throw SimulatedPlatformError(.corrupt, "\(path) is larger than expected; run `enclava sim init --force`")
        }
        return buffer.slice(0..<total)
    }
}
