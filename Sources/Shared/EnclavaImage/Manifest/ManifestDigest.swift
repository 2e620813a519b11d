import EnclavaCrypto

/// The plaintext identity of one asset, as it enters the manifest digest.
public struct AssetDigest: Sendable, Equatable, Codable {
    /// Normalized path relative to the manifest's folder.
    public var name: String
    /// What the file is for.
    public var role: AssetRole
    /// SHA-256 of the plaintext file (32 bytes).
    public var sha256: [UInt8]

    /// Creates an asset digest.
    public init(name: String, role: AssetRole, sha256: [UInt8]) {
        self.name = name
        self.role = role
        self.sha256 = sha256
    }
}

/// The manifest digest: the image's identity (DESIGN.md §4).
///
/// `digest = SHA-384(canonical form)`, where the canonical form is the canonical JSON (sorted keys,
/// no whitespace, see `CanonicalJSON`) of the *parsed* manifest with every default filled in, plus
/// the list of assets with their plaintext SHA-256:
///
/// ```json
/// {"assets":[{"name":"model.onnx","role":"model","sha256":"…"}],"format":"enclava-manifest-v1",
///  "image":{"name":"…","version":"…"},"keys":{"release":"owner"},"model":{"file":"model.onnx","format":"onnx"},
///  "pipeline":{"kind":"tensor"},"runtime":{"max_batch":8,"max_frame_bytes":4194304,"max_queue":64,"threads":1}}
/// ```
///
/// It depends neither on the TOML's formatting, key order or comments, nor on any key: anyone with
/// the manifest and the plaintext assets can recompute it (`enclava measure`).
public enum ManifestDigest {
    /// Length of the digest in bytes (SHA-384).
    public static let byteCount = 48
    /// The `format` member of the canonical form; changing the canonical form changes this.
    public static let canonicalFormat = "enclava-manifest-v1"

    /// The canonical form's bytes (UTF-8 JSON).
    public static func canonicalForm(of manifest: Manifest, assets: [AssetDigest]) -> [UInt8] {
        var pipeline: [(String, CanonicalJSON)] = [("kind", .string(manifest.pipeline.kind.rawValue))]
        if let tokenizer = manifest.pipeline.tokenizer { pipeline.append(("tokenizer", .string(tokenizer))) }
        if let length = manifest.pipeline.maxSequenceLength { pipeline.append(("max_sequence_length", .int(length))) }
        if let pooling = manifest.pipeline.pooling { pipeline.append(("pooling", .string(pooling.rawValue))) }
        if let normalize = manifest.pipeline.normalize { pipeline.append(("normalize", .bool(normalize))) }
        // Keys added after the first release enter the canonical form only when present, so that the digests
        // of earlier manifests do not change.
        if let lowercase = manifest.pipeline.lowercase { pipeline.append(("lowercase", .bool(lowercase))) }
        if let maxTexts = manifest.pipeline.maxTexts { pipeline.append(("max_texts", .int(maxTexts))) }
        if let maxTextBytes = manifest.pipeline.maxTextBytes { pipeline.append(("max_text_bytes", .int(maxTextBytes))) }
        var keys: [(String, CanonicalJSON)] = [("release", .string(manifest.keys.release.rawValue))]
        if let sealTo = manifest.keys.sealTo { keys.append(("seal_to", .string(sealTo.rawValue))) }
        let runtime = manifest.runtime
        let json = CanonicalJSON.object([
            ("format", .string(canonicalFormat)),
            ("image", .object([("name", .string(manifest.image.name)), ("version", .string(manifest.image.version))])),
            ("model", .object([("file", .string(manifest.model.file)), ("format", .string(manifest.model.format.rawValue))])),
            ("pipeline", .object(pipeline)),
            ("runtime", .object([
                ("threads", .int(runtime.threads)), ("max_batch", .int(runtime.maxBatch)),
                ("max_queue", .int(runtime.maxQueue)), ("max_frame_bytes", .int(runtime.maxFrameBytes)),
            ])),
            ("keys", .object(keys)),
            ("assets", .array(assets.map { asset in
                .object([("name", .string(asset.name)), ("role", .string(asset.role.rawValue)),
                         ("sha256", .string(Hex.encode(asset.sha256)))])
            })),
        ])
        return json.bytes
    }

    /// SHA-384 of the canonical form (48 bytes).
    public static func compute(manifest: Manifest, assets: [AssetDigest]) -> [UInt8] {
        SHA2.sha384(canonicalForm(of: manifest, assets: assets))
    }

    /// Parses `manifestText` and computes its digest with the given asset hashes.
    ///
    /// - Throws: ``ManifestError`` when the text is not a valid manifest.
    public static func compute(manifestText: String, sourceName: String, assets: [AssetDigest]) throws -> [UInt8] {
        compute(manifest: try Manifest.parse(manifestText, sourceName: sourceName), assets: assets)
    }

    /// Loads the manifest at `manifestPath`, hashes every asset it names and computes the digest;
    /// no key is involved (`enclava measure`).
    ///
    /// - Throws: ``ManifestError`` for a missing, unreadable or invalid manifest or asset.
    /// - Parameter assetRoot: the folder asset paths are relative to; nil for the manifest's own folder.
    public static func measure(manifestPath: String, assetRoot: String? = nil) throws -> ManifestMeasurement {
        let source = try ManifestSource.load(path: manifestPath, assetRoot: assetRoot)
        var measured: [MeasuredAsset] = []
        for asset in source.manifest.assets {
            let path = try source.resolve(asset)
            let (size, sha256) = try source.hash(asset, path: path)
            measured.append(MeasuredAsset(name: asset.name, role: asset.role, path: path, size: size, sha256: sha256))
        }
        let digest = compute(manifest: source.manifest, assets: measured.map(\.digest))
        return ManifestMeasurement(manifest: source.manifest, manifestText: source.text, manifestPath: manifestPath,
                                   baseDirectory: source.baseDirectory, assets: measured, digest: digest)
    }
}

/// An asset file found and hashed by ``ManifestDigest/measure(manifestPath:)``.
public struct MeasuredAsset: Sendable, Equatable {
    /// Normalized path relative to the manifest's folder.
    public var name: String
    /// What the file is for.
    public var role: AssetRole
    /// The file's resolved path.
    public var path: String
    /// Plaintext size in bytes.
    public var size: UInt64
    /// SHA-256 of the plaintext.
    public var sha256: [UInt8]

    /// The part that enters the manifest digest.
    public var digest: AssetDigest { AssetDigest(name: name, role: role, sha256: sha256) }
}

/// The result of measuring a manifest and its assets.
public struct ManifestMeasurement: Sendable {
    /// The parsed manifest.
    public var manifest: Manifest
    /// The manifest text as read.
    public var manifestText: String
    /// The manifest's path as given.
    public var manifestPath: String
    /// The folder asset paths are relative to.
    public var baseDirectory: String
    /// Every asset, in image order.
    public var assets: [MeasuredAsset]
    /// The manifest digest (48 bytes).
    public var digest: [UInt8]
    /// The digest in lowercase hex.
    public var digestHex: String { Hex.encode(digest) }
}
