import EnclavaImage
import Foundation

/// `enclava serve --state-dir DIR`: where the host keeps each image's sealed state between enclave starts
/// (DESIGN.md §7, sealed restart). One file per image, named by its manifest digest
/// (``SealedStateFile/fileName(manifestDigest:)``). The bridge never interprets the content (ciphertext only the
/// enclave opens): it prepares the folder, runs the enclave with `--sealed-state host`, offers the file's blob over
/// the enclave's private control socket at each start, and atomically replaces the file (mode 0600) with each new
/// blob the enclave seals after a key release (`HostBridge.KeptSealedState`, `EnclaveSupervisor+SealedState`). No
/// shared file system is needed, so a confidential VM keeps its sealed state the same way.
struct SealedStateDirectory {
    /// The folder.
    let path: String
    /// This image's sealed-state file inside it (absolute).
    let statePath: String

    /// Creates the folder (0700) if it is missing and checks it: a real folder (not a symbolic link) that only
    /// its owner can write, and a state file, if there is one, that is a regular file.
    /// - Throws: ``CLIError`` naming the path and what to do.
    init(path: String, manifestDigest: [UInt8]) throws {
        guard !path.isEmpty else { throw CLIError("--state-dir is empty; give a folder, e.g. --state-dir ./state") }
        let folder = URL(fileURLWithPath: path).standardizedFileURL.path
        var info = stat()
        if lstat(folder, &info) != 0 {
            guard errno == ENOENT else { throw CLIError("--state-dir \(path): \(String(cString: strerror(errno)))") }
            guard mkdir(folder, 0o700) == 0 else {
                throw CLIError("--state-dir \(path): cannot create the folder (\(String(cString: strerror(errno)))); "
                    + "its parent folder must exist and be writable")
            }
            guard lstat(folder, &info) == 0 else { throw CLIError("--state-dir \(path): \(String(cString: strerror(errno)))") }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CLIError("--state-dir \(path) is not a folder (a symbolic link or a file); give a folder of its own")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw CLIError("--state-dir \(path) can be written by other users (mode \(String(info.st_mode & 0o777, radix: 8))); "
                + "run `chmod 700 \(path)` so that nobody else can replace sealed state")
        }
        self.path = folder
        statePath = folder + "/" + SealedStateFile.fileName(manifestDigest: manifestDigest)
        if lstat(statePath, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw CLIError("\(statePath) is not a regular file (a symbolic link, folder or device); remove it")
        }
    }

    /// One line for the operator: whether the next start can skip the key release.
    func note(keys: Manifest.Keys) -> String {
        guard keys.release != .sealed else {
            return "enclava serve: --state-dir is not needed for this image (its key is sealed in the image)"
        }
        var info = stat()
        if lstat(statePath, &info) == 0 {
            return "enclava serve: sealed state \(statePath) (\(info.st_size) bytes): the enclave tries it before asking "
                + "for a key release"
        }
        return "enclava serve: no sealed state for this image in \(path) yet: this start is a key release, after which "
            + "the enclave leaves one there"
    }
}
