import Foundation

/// Where tests find the repository, `../shared` and the built executables.
public enum TestPaths {
    /// The package root (the folder holding Package.swift), found from a source file path.
    /// - Parameter filePath: pass `#filePath` from the calling test.
    public static func packageRoot(from filePath: String = #filePath) -> URL {
        var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// The shared data folder beside the checkout (`../shared`); `ENCLAVA_SHARED` overrides it.
    public static func shared(from filePath: String = #filePath) -> URL {
        if let explicit = ProcessInfo.processInfo.environment["ENCLAVA_SHARED"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        return packageRoot(from: filePath).deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The folder holding the built products (`enclava`, `enclava-runtime`): the test binary's own folder.
    public static var binDirectory: URL {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: me).deletingLastPathComponent()
        // On Linux the test runner is `<bin>/EnclavaPackageTests.xctest`; on other layouts walk up to the bin folder.
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("enclava").path) {
            url = url.deletingLastPathComponent()
        }
        return url
    }

    /// A fresh temporary folder (mode 0700). The caller removes it when done; whatever is still there when the
    /// test process exits is removed then (shared fixtures live that long), so `make test`'s check for files
    /// left in TMPDIR holds even for folders a failing test never reached its cleanup for.
    public static func makeTemporaryDirectory(prefix: String = "enclava-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        removeAtExit(url.path)
        return url
    }

    /// Removes `path` (recursively) when the process exits normally.
    public static func removeAtExit(_ path: String) {
        LeftoverFolders.shared.add(path)
    }
}

/// Folders to remove at exit: one `atexit` handler for all of them.
final class LeftoverFolders: @unchecked Sendable {
    static let shared: LeftoverFolders = {
        let folders = LeftoverFolders()
        atexit { LeftoverFolders.shared.removeAll() }
        return folders
    }()

    private let lock = NSLock()
    private var paths: [String] = []

    func add(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    func removeAll() {
        lock.lock()
        let all = paths
        paths = []
        lock.unlock()
        for path in all { try? FileManager.default.removeItem(atPath: path) }
    }
}
