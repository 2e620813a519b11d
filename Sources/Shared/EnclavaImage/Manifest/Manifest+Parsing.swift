import TOMLKit

extension Manifest {
    /// The largest manifest file accepted.
    public static let maxTextBytes = 1 << 20

    /// Parses and validates manifest text.
    ///
    /// - Parameters:
    ///   - text: TOML text.
    ///   - sourceName: The name used in error messages, usually the path the user gave.
    /// - Throws: ``ManifestError`` naming `sourceName` and the line of the problem.
    public static func parse(_ text: String, sourceName: String) throws -> Manifest {
        if text.utf8.count > maxTextBytes {
            throw ManifestError(.invalidValue, sourceName: sourceName, line: nil,
                                message: "the manifest is larger than \(maxTextBytes) bytes")
        }
        if let nul = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex(where: { $0.contains("\u{0}") }) {
            throw ManifestError(.syntax, sourceName: sourceName, line: nul + 1, message: "NUL character in the manifest")
        }
        if let line = TOMLHeaderCheck.malformedHeaderLine(in: text) {
            throw ManifestError(.syntax, sourceName: sourceName, line: line,
                                message: "invalid TOML: a table header must start with a key — letters, digits, '_', '-', "
                                    + "or a quoted key — as in [model]")
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ManifestError(.syntax, sourceName: sourceName, line: error.source.begin.line,
                                message: "invalid TOML: \(error.description)")
        }
        let reader = ManifestReader(sourceName: sourceName, lines: ManifestLineIndex(text: text))
        return try parse(root, reader)
    }

    private static func parse(_ root: TOMLTable, _ r: ManifestReader) throws -> Manifest {
        try r.checkKeys(root, section: "", allowed: ["image", "model", "pipeline", "runtime", "keys"], what: "section")

        let imageTable = try r.section(root, "image", required: true)!
        try r.checkKeys(imageTable, section: "image", allowed: ["name", "version"], what: "key")
        let name = try r.string(imageTable, section: "image", "name", required: true)!
        if name.isEmpty || name.utf8.count > 64
            || !name.unicodeScalars.allSatisfy({ "abcdefghijklmnopqrstuvwxyz0123456789._-".unicodeScalars.contains($0) }) {
            throw r.error(.invalidValue, section: "image", key: "name",
                          "`name` must be 1…64 characters of a-z, 0-9, '.', '_', '-', got \"\(name)\"")
        }
        let version = try r.string(imageTable, section: "image", "version", required: true)!
        let versionCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+_-".unicodeScalars
        if version.isEmpty || version.utf8.count > 64 || !version.unicodeScalars.allSatisfy({ versionCharacters.contains($0) }) {
            throw r.error(.invalidValue, section: "image", key: "version",
                          "`version` must be 1…64 characters of A-Z, a-z, 0-9, '.', '+', '_', '-', got \"\(version)\"")
        }

        let modelTable = try r.section(root, "model", required: true)!
        try r.checkKeys(modelTable, section: "model", allowed: ["file", "format"], what: "key")
        let file = try r.relativePath(modelTable, section: "model", "file", required: true)!
        let format = try r.choice(modelTable, section: "model", "format", required: false, as: ModelFormat.self) ?? .onnx

        let pipeline = try parsePipeline(root, r, modelFile: file)
        let runtime = try parseRuntime(root, r)

        var keys = Keys(release: .owner)
        if let keysTable = try r.section(root, "keys", required: false) {
            try r.checkKeys(keysTable, section: "keys", allowed: ["release", "seal_to"], what: "key")
            keys.release = try r.choice(keysTable, section: "keys", "release", required: false, as: KeyRelease.self) ?? .owner
            keys.sealTo = try r.choice(keysTable, section: "keys", "seal_to", required: false, as: SealTo.self)
        }
        return Manifest(image: Image(name: name, version: version), model: Model(file: file, format: format),
                        pipeline: pipeline, runtime: runtime, keys: keys)
    }

    private static func parsePipeline(_ root: TOMLTable, _ r: ManifestReader, modelFile: String) throws -> Pipeline {
        guard let table = try r.section(root, "pipeline", required: false) else {
            return Pipeline(kind: .tensor)
        }
        let textKeys = ["tokenizer", "max_sequence_length", "pooling", "normalize", "lowercase", "max_texts", "max_text_bytes"]
        try r.checkKeys(table, section: "pipeline", allowed: Set(["kind"] + textKeys), what: "key")
        let kind = try r.choice(table, section: "pipeline", "kind", required: true, as: PipelineKind.self)!
        var pipeline = Pipeline(kind: kind)
        switch kind {
        case .tensor:
            if let stray = textKeys.filter({ table[$0] != nil })
                .min(by: { (r.lines.line(section: "pipeline", key: $0) ?? 0) < (r.lines.line(section: "pipeline", key: $1) ?? 0) }) {
                throw r.error(.invalidValue, section: "pipeline", key: stray,
                              "`\(stray)` applies only to kind = \"sentence-embedding\"; remove it or change `kind`")
            }
        case .sentenceEmbedding:
            guard let tokenizer = try r.relativePath(table, section: "pipeline", "tokenizer", required: false) else {
                throw r.missing(section: "pipeline", key: "tokenizer", example: "\"vocab.txt\"")
            }
            if tokenizer == modelFile {
                throw r.error(.invalidPath, section: "pipeline", key: "tokenizer",
                              "`tokenizer` names the model file \"\(modelFile)\"; name the vocabulary file")
            }
            pipeline.tokenizer = tokenizer
            // [CLS] and [SEP] take two of the positions.
            pipeline.maxSequenceLength = try r.int(table, section: "pipeline", "max_sequence_length", range: 2...8192)
            pipeline.pooling = try r.choice(table, section: "pipeline", "pooling", required: false, as: Pooling.self)
            pipeline.normalize = try r.bool(table, section: "pipeline", "normalize")
            pipeline.lowercase = try r.bool(table, section: "pipeline", "lowercase")
            pipeline.maxTexts = try r.int(table, section: "pipeline", "max_texts", range: 1...1024)
            pipeline.maxTextBytes = try r.int(table, section: "pipeline", "max_text_bytes", range: 1...(1 << 20))
        }
        return pipeline
    }

    private static func parseRuntime(_ root: TOMLTable, _ r: ManifestReader) throws -> Runtime {
        var runtime = Runtime.defaults
        guard let table = try r.section(root, "runtime", required: false) else { return runtime }
        try r.checkKeys(table, section: "runtime",
                        allowed: ["threads", "max_batch", "max_queue", "max_frame_bytes"], what: "key")
        runtime.threads = try r.int(table, section: "runtime", "threads", range: 1...64) ?? runtime.threads
        runtime.maxBatch = try r.int(table, section: "runtime", "max_batch", range: 1...1024) ?? runtime.maxBatch
        runtime.maxQueue = try r.int(table, section: "runtime", "max_queue", range: 1...65536) ?? runtime.maxQueue
        runtime.maxFrameBytes = try r.int(table, section: "runtime", "max_frame_bytes", range: 1024...(64 << 20))
            ?? runtime.maxFrameBytes
        return runtime
    }
}

