import EnclavaCrypto
import Foundation

/// A boot bundle: a folder holding a kernel, an initrd and `bundle.json`, which names every file with its
/// SHA-256 and the kernel command line (`enclava vm build` writes it; `enclava measure --bundle` reads it).
///
/// ```json
/// {"version": 1, "kernel": {"path": "vmlinuz", "sha256": "…"}, "initrd": {"path": "initrd.cpio.gz", "sha256": "…"},
///  "cmdline": "…", "files": [{"path": "…", "sha256": "…"}]}
/// ```
/// Paths are relative to the folder and may not leave it. Loading verifies every digest.
public struct BootBundle: Sendable {
    /// The format version this code reads and writes.
    public static let version = 1
    /// The largest `bundle.json` read.
    static let maximumManifestSize = 1 << 20

    /// One file of the bundle.
    public struct File: Codable, Sendable, Equatable {
        /// The path relative to the bundle folder.
        public let path: String
        /// SHA-256, lower-case hex.
        public let sha256: String

        /// A file entry.
        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    /// `bundle.json` as written.
    public struct Manifest: Codable, Sendable, Equatable {
        /// The format version (1).
        public let version: Int
        /// The kernel.
        public let kernel: File
        /// The initrd.
        public let initrd: File
        /// The kernel command line.
        public let cmdline: String
        /// Every file of the bundle, kernel and initrd included.
        public let files: [File]
        /// What the initrd holds, by absolute path in the VM (for audit; not checked on load).
        public let initrdContents: [File]?

        /// A manifest.
        public init(version: Int = BootBundle.version, kernel: File, initrd: File, cmdline: String, files: [File],
                    initrdContents: [File]? = nil) {
            self.version = version
            self.kernel = kernel
            self.initrd = initrd
            self.cmdline = cmdline
            self.files = files
            self.initrdContents = initrdContents
        }

        enum CodingKeys: String, CodingKey {
            case version, kernel, initrd, cmdline, files
            case initrdContents = "initrd_contents"
        }
    }

    /// The bundle folder.
    public let directory: String
    /// The manifest, every digest verified.
    public let manifest: Manifest

    /// The kernel's absolute path.
    public var kernelPath: String { directory + "/" + manifest.kernel.path }
    /// The initrd's absolute path.
    public var initrdPath: String { directory + "/" + manifest.initrd.path }

    /// The direct kernel boot's hashes, from the verified digests.
    public var kernelHashes: SEVKernelHashes {
        SEVKernelHashes(kernel: Hex.decode(manifest.kernel.sha256)!, initrd: Hex.decode(manifest.initrd.sha256)!,
                        cmdline: SEVKernelHashes.cmdlineDigest(manifest.cmdline))
    }

    /// Reads `DIR/bundle.json` and verifies the SHA-256 of every file it names.
    /// - Throws: ``MeasurementError`` `.bundleInvalid` for a missing or malformed manifest or a path leaving the
    ///   folder, `.bundleDigestMismatch` for a file whose SHA-256 differs, `.fileUnreadable` for a missing file.
    public static func load(directory: String) throws -> BootBundle {
        let folder = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let manifestPath = folder + "/bundle.json"
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw MeasurementError(.bundleInvalid, "bundle \(directory) is not a folder; give the --out folder of `enclava vm build`")
        }
        let bytes: [UInt8]
        do { bytes = try OVMFFirmware.read(manifestPath, limit: maximumManifestSize, what: "bundle manifest") } catch {
            throw MeasurementError(.bundleInvalid, "\(manifestPath) is missing or unreadable; rebuild the bundle with `enclava vm build`")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes)) } catch {
            throw MeasurementError(.bundleInvalid, "\(manifestPath) is not a bundle manifest (\(Self.reason(error))); rebuild the bundle")
        }
        guard manifest.version == version else {
            throw MeasurementError(.bundleInvalid, "\(manifestPath) has version \(manifest.version); this enclava reads version \(version)")
        }
        let bundle = BootBundle(directory: folder, manifest: manifest)
        let named = Set(manifest.files.map(\.path))
        for required in [manifest.kernel, manifest.initrd] where !named.contains(required.path) {
            throw MeasurementError(.bundleInvalid, "\(manifestPath): `files` does not list \(required.path); rebuild the bundle")
        }
        for file in [manifest.kernel, manifest.initrd] + manifest.files { try bundle.verify(file, manifestPath: manifestPath) }
        return bundle
    }

    /// Checks that `file` stays inside the folder and has its SHA-256.
    private func verify(_ file: File, manifestPath: String) throws {
        let components = file.path.split(separator: "/", omittingEmptySubsequences: false)
        guard !file.path.isEmpty, !file.path.hasPrefix("/"), !components.contains(".."), !components.contains("") else {
            throw MeasurementError(.bundleInvalid, "\(manifestPath) names `\(file.path)`, which is not a plain path inside the bundle")
        }
        guard let expected = Hex.decode(file.sha256), expected.count == 32 else {
            throw MeasurementError(.bundleInvalid, "\(manifestPath): the sha256 of \(file.path) is not 64 hex digits")
        }
        let actual: [UInt8]
        do { actual = try SHA2.hashFile(.sha256, path: directory + "/" + file.path) } catch {
            throw MeasurementError(.fileUnreadable, "bundle file \(directory)/\(file.path) is missing or unreadable; rebuild the bundle")
        }
        guard actual == expected else {
            throw MeasurementError(.bundleDigestMismatch, "\(directory)/\(file.path) has SHA-256 \(Hex.encode(actual)), not the "
                                   + "\(file.sha256) bundle.json names: the file changed since the bundle was built; rebuild it")
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no `\(key.stringValue)`"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "`\(context.codingPath.map(\.stringValue).joined(separator: "."))` has the wrong type"
        default: "not valid JSON"
        }
    }
}
