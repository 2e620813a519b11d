#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EnclavaCrypto

extension Manifest {
    /// Reads and parses the manifest file at `path`.
    ///
    /// - Returns: The manifest and the folder its asset paths are relative to.
    /// - Throws: ``ManifestError`` (`fileUnreadable` for a missing or unreadable file, or a
    ///   parse error with its line).
    public static func load(path: String) throws -> (manifest: Manifest, baseDirectory: String) {
        let source = try ManifestSource.load(path: path)
        return (source.manifest, source.baseDirectory)
    }
}

/// A manifest file together with its text and line index, so that asset problems found after
/// parsing (a missing file, a symlink out of the folder) can still be reported with their line.
struct ManifestSource {
    let path: String
    let text: String
    let manifest: Manifest
    let baseDirectory: String
    /// Whether ``baseDirectory`` was given as an asset root rather than being the manifest's folder.
    var isAssetRoot = false
    let lines: ManifestLineIndex

    /// How error messages name ``baseDirectory``.
    private var folderName: String { isAssetRoot ? "the asset root \(baseDirectory)" : "the manifest's folder" }

    /// - Parameter assetRoot: the folder asset paths are relative to, instead of the manifest's own
    ///   (`enclava package --asset-root`); assets must stay inside it.
    static func load(path: String, assetRoot: String? = nil) throws -> ManifestSource {
        let bytes: [UInt8]
        do {
            let file = try InputFile(path: path)
            guard file.size <= UInt64(Manifest.maxTextBytes) else {
                throw ManifestError(.invalidValue, sourceName: path, line: nil,
                                    message: "the manifest is larger than \(Manifest.maxTextBytes) bytes")
            }
            bytes = try file.readExactly(Int(file.size), at: 0)
        } catch let error as ImageError {
            throw ManifestError(.fileUnreadable, sourceName: path, line: nil,
                                message: "cannot read the manifest (\(error.message))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ManifestError(.syntax, sourceName: path, line: nil, message: "the manifest is not valid UTF-8 text")
        }
        let manifest = try Manifest.parse(text, sourceName: path)
        let base: String
        if let assetRoot {
            guard !assetRoot.isEmpty else {
                throw ManifestError(.invalidPath, sourceName: path, line: nil,
                                    message: "the asset root is empty; name the folder that holds the model files")
            }
            base = assetRoot.count > 1 && assetRoot.hasSuffix("/") ? String(assetRoot.dropLast()) : assetRoot
        } else {
            let slash = path.lastIndex(of: "/")
            let folder = slash.map { String(path[..<$0]) } ?? "."
            base = folder.isEmpty ? "/" : folder
        }
        return ManifestSource(path: path, text: text, manifest: manifest, baseDirectory: base,
                              isAssetRoot: assetRoot != nil, lines: ManifestLineIndex(text: text))
    }

    private func error(_ asset: ManifestAsset, _ message: String) -> ManifestError {
        let (section, key) = asset.role == .model ? ("model", "file") : ("pipeline", "tokenizer")
        return ManifestError(.invalidPath, sourceName: path, line: lines.line(section: section, key: key),
                             message: "`\(key)` = \"\(asset.name)\": \(message)")
    }

    /// The asset's path on disk, after checking that it exists, is a regular file and, with
    /// symbolic links resolved, stays inside the manifest's folder.
    func resolve(_ asset: ManifestAsset) throws -> String {
        let joined = baseDirectory + "/" + asset.name
        guard let realBase = Self.realPath(baseDirectory) else {
            throw error(asset, "cannot resolve \(isAssetRoot ? "the asset root" : "the manifest's folder") \(baseDirectory): \(systemError())")
        }
        guard let realAsset = Self.realPath(joined) else {
            throw error(asset, "cannot read \(joined): \(systemError())")
        }
        let prefix = realBase.hasSuffix("/") ? realBase : realBase + "/"
        guard realAsset.hasPrefix(prefix) else {
            throw error(asset, "resolves to \(realAsset), outside \(folderName); "
                        + (isAssetRoot ? "keep assets inside the asset root" : "copy the file next to the manifest or pass --asset-root"))
        }
        return joined
    }

    /// Streams the asset through SHA-256.
    func hash(_ asset: ManifestAsset, path assetPath: String) throws -> (size: UInt64, sha256: [UInt8]) {
        do {
            let file = try InputFile(path: assetPath)
            var hasher = StreamingHasher(.sha256)
            var buffer = SecureBytes(count: ImageFormat.chunkSize)
            var offset: UInt64 = 0
            try buffer.withUnsafeMutableBytes { chunk in
                while true {
                    let got = try file.read(into: chunk, at: offset)
                    if got == 0 { break }
                    hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<got]))
                    offset += UInt64(got)
                }
            }
            return (offset, hasher.finalize())
        } catch let failure as ImageError {
            throw error(asset, failure.message)
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
