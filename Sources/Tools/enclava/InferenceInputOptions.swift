import ArgumentParser
import EnclavaAttestation
import EnclavaClient
import EnclavaWire
import Foundation

/// Options shared by `infer` and `run`: the model inputs — tensors and texts, from the command line, files or
/// standard input — and how the result is printed.
struct InferenceInputOptions: ParsableArguments {
    @Option(name: .customLong("input"), help: ArgumentHelp(
        "A model input: NAME=JSON, NAME=@FILE, or NAME=@- for standard input (repeatable). JSON is a nested array of numbers (float32) or {\"dtype\",\"shape\",\"data\"}.",
        valueName: "NAME=JSON"))
    var inputs: [String] = []

    @Option(name: .customLong("text"), help: ArgumentHelp(
        "A text for text pipelines (repeatable): the text itself, @FILE for a file's whole content, - for standard input; @@… for a text that starts with @.",
        valueName: "TEXT"))
    var texts: [String] = []

    @Option(name: .customLong("texts-jsonl"), help: ArgumentHelp(
        "Many texts from a JSON-lines file (- for standard input): one JSON string, or an object with a \"text\" key, per line.",
        valueName: "FILE"))
    var textsJSONL: String?

    @Flag(help: "Print the result as JSON: {\"outputs\": …, \"enclave\": …}.")
    var json = false

    /// The most bytes read from one input file or from standard input (a request frame is at most 4 MiB by default;
    /// the enclave refuses what its manifest does not allow).
    static let maxInputFileBytes = 64 << 20

    /// Parses every --input, reading @FILE and @- arguments.
    func tensors() throws -> [String: Enclava_V1_Tensor] {
        guard !inputs.isEmpty || !texts.isEmpty || textsJSONL != nil else {
            throw CLIError("no input given; pass --input NAME=JSON or --text TEXT (see `enclava inspect` for the model's inputs)")
        }
        try checkOneStandardInputReader()
        var result: [String: Enclava_V1_Tensor] = [:]
        for argument in inputs {
            var text = argument
            if let equals = argument.firstIndex(of: "="), argument[argument.index(after: equals)...].hasPrefix("@") {
                let source = String(argument[argument.index(equals, offsetBy: 2)...])
                text = String(argument[..<equals]) + "=" + (try Self.read(source, what: "--input \(argument[..<equals])"))
            }
            let (name, tensor) = try TensorJSON.parseInput(text)
            guard result[name] == nil else { throw CLIError("--input \(name) is given twice") }
            result[name] = tensor
        }
        return result
    }

    /// Every text, in order: `--text` values (literal, `@FILE`, `-`), then the lines of `--texts-jsonl`.
    func allTexts() throws -> [String] {
        try checkOneStandardInputReader()
        var result: [String] = []
        for (index, value) in texts.enumerated() {
            if value.hasPrefix("@@") {
                result.append(String(value.dropFirst()))
            } else if value.hasPrefix("@") {
                result.append(try Self.read(String(value.dropFirst()), what: "--text #\(index + 1)"))
            } else if value == "-" {
                result.append(try Self.read("-", what: "--text -"))
            } else {
                result.append(value)
            }
        }
        if let textsJSONL {
            result += try Self.jsonLines(try Self.read(textsJSONL, what: "--texts-jsonl"), source: textsJSONL)
        }
        return result
    }

    /// Standard input can be read once: by one `--input NAME=@-`, one `--text -` or `--texts-jsonl -`.
    private func checkOneStandardInputReader() throws {
        let readers = inputs.filter { $0.contains("=@-") && $0.hasSuffix("=@-") }.count
            + texts.filter { $0 == "-" }.count + (textsJSONL == "-" ? 1 : 0)
        guard readers <= 1 else {
            throw CLIError("standard input can feed one input only, but \(readers) options read it (- or @-); put the others in files")
        }
    }

    /// The UTF-8 text of FILE, or of standard input for `-`, at most ``maxInputFileBytes``.
    static func read(_ source: String, what: String) throws -> String {
        let data: Data
        if source == "-" {
            guard isatty(STDIN_FILENO) == 0 else {
                throw CLIError("\(what) reads standard input, which is a terminal; pipe the input in (e.g. `… < file`)")
            }
            data = FileHandle.standardInput.readData(ofLength: maxInputFileBytes + 1)
        } else {
            guard !source.isEmpty else { throw CLIError("\(what): @ must be followed by a file name (write @@ for a literal @)") }
            try CLI.requireReadableFile(source, what: "\(what) file")
            guard let handle = FileHandle(forReadingAtPath: source) else { throw CLIError("cannot read \(source)") }
            defer { try? handle.close() }
            data = handle.readData(ofLength: maxInputFileBytes + 1)
        }
        guard data.count <= maxInputFileBytes else {
            throw CLIError("\(what): \(source == "-" ? "standard input" : source) is larger than \(maxInputFileBytes >> 20) MiB")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(what): \(source == "-" ? "standard input" : source) is not UTF-8 text")
        }
        return text
    }

    /// The texts of a JSON-lines document: each non-empty line a JSON string or `{"text": "…"}`.
    static func jsonLines(_ document: String, source: String) throws -> [String] {
        var texts: [String] = []
        for (index, line) in document.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])
            if let text = value as? String {
                texts.append(text)
            } else if let object = value as? [String: Any], let text = object["text"] as? String {
                texts.append(text)
            } else {
                throw CLIError("\(source == "-" ? "standard input" : source):\(index + 1): each line must be a JSON string or "
                    + "{\"text\": \"…\"}")
            }
        }
        guard !texts.isEmpty else { throw CLIError("\(source == "-" ? "standard input" : source) holds no texts") }
        return texts
    }

    /// Prints outputs and the verified evidence, and warns (on stderr) when the enclave reported that its
    /// secrets may be in memory that is not locked in RAM, or when an output holds NaN or infinite values.
    func report(outputs: [String: Enclava_V1_Tensor], evidence: VerifiedEvidence, memoryUnlocked: Bool) {
        if memoryUnlocked { FileHandle.standardError.write(Data((Self.unlockedMemoryWarning + "\n").utf8)) }
        for name in outputs.keys.sorted() {
            let count = TensorJSON.nonFiniteCount(of: outputs[name]!)
            guard count > 0 else { continue }
            FileHandle.standardError.write(Data(("warning: output \(name) holds \(count) NaN or infinite value(s), printed as "
                + "\"NaN\", \"Infinity\" or \"-Infinity\"; check the input's range and scaling\n").utf8))
        }
        if json {
            print(TensorJSON.inferenceReport(outputs: outputs, evidence: evidence, memoryUnlocked: memoryUnlocked))
            return
        }
        print("outputs:")
        for name in outputs.keys.sorted() {
            print("  \(name) = \(TensorJSON.encode(outputs[name]!))")
        }
        print("verified enclave:")
        var lines = evidence.claims
        if !lines.contains(where: { $0.0 == "manifest digest" }) { lines.append(("manifest digest", evidence.manifestDigestHex)) }
        for (key, value) in lines { print("  \(key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)") }
    }
}
