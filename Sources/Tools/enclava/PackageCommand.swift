import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclaveInference
import Foundation

/// `enclava package`: a manifest and its assets → one signed, encrypted enclave image.
struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Package a model into a signed, encrypted enclave image (.eimg)."
    )

    enum SealTarget: String, ExpressibleByArgument { case sim }

    @Option(help: "The image manifest (TOML); asset paths are relative to its folder, or to --asset-root.")
    var manifest: String

    @Option(name: .customLong("asset-root"), help: ArgumentHelp(
        "The folder the manifest's asset paths are relative to, instead of the manifest's own (assets must stay inside it).",
        valueName: "DIR"))
    var assetRoot: String?

    @Option(help: "The ECDSA P-384 signing key (from `enclava keygen`).")
    var signer: String

    @Option(help: "Where to write the image.")
    var out: String

    @Option(name: .customLong("seal-for"), help: "Seal the data key to a platform so the enclave starts on its own: sim.")
    var sealFor: SealTarget?

    @Option(name: .customLong("owner-key-out"), help: "Keep the data key with the model owner: write it here (0600).")
    var ownerKeyOut: String?

    @Option(help: "The enclava-runtime whose measurement the key is sealed to (default: the one beside enclava).")
    var runtime: String?

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Replace an existing image at --out.")
    var force = false

    mutating func run() async throws {
        try CLI.requireReadableFile(manifest, what: "manifest")
        try CLI.requireReadableFile(signer, what: "signer key")
        try CLI.requireOutputFolder(out)
        if !force && FileManager.default.fileExists(atPath: out) {
            throw CLIError("\(out) already exists; choose another path or pass --force to replace it")
        }
        let key = try SignerKey.load(path: signer)
        let release = Self.declaredRelease(manifestPath: manifest)
        let wrapping: KeyWrappingRequest
        switch (sealFor, ownerKeyOut) {
        case (.some, .some):
            throw CLIError("choose one of --seal-for and --owner-key-out, not both")
        case (.none, .none):
            throw CLIError("say who can unlock the model: --seal-for sim (local testing) or --owner-key-out FILE")
        case (.some(.sim), .none):
            try Self.checkSealable(release: release, manifestPath: manifest)
            let runtimePath = try CLI.runtimePath(runtime)
            let measurement = try CLI.runtimeMeasurement(runtimePath)
            let platform = try SimulatedPlatform.load(home: CLI.simHome(simHome))
            let sealingKey = try platform.sealingKey(measurement: measurement, purpose: KeyWrap.sealingPurpose)
            wrapping = .sealedForSim(sealingKey: sealingKey, measurement: measurement)
        case (.none, .some(let keyPath)):
            try CLI.requireOutputFolder(keyPath)
            wrapping = .owner(keyOutputPath: keyPath)
        }
        // Progress goes to a terminal only, so that scripts see exactly one line when something fails.
        let quiet = self.quiet || isatty(STDERR_FILENO) == 0
        if let assetRoot {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: assetRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIError("asset root \(assetRoot) is not a folder; pass the folder that holds the model's files")
            }
        }
        // The model is parsed once: the check's report also gives the interface recorded in the header.
        var interface: ImageModelInterface?
        let summary = try ImagePackager.package(manifestPath: manifest, signer: key, outputPath: out, wrapping: wrapping,
                                                assetRoot: assetRoot,
                                                checkAssets: { measured in
                                                    interface = try Self.checkRunnable(measured, progress: { if !quiet { CLI.note($0) } })
                                                },
                                                describeModel: { _ in interface },
                                                progress: { if !quiet { CLI.note($0) } })
        guard !self.quiet else { return }
        print("wrote \(summary.outputPath) (\(summary.imageSize) bytes)")
        print("  image            \(summary.name) \(summary.version)")
        print("  manifest digest  \(summary.manifestDigestHex)")
        print("  signer           sha256:\(summary.signerFingerprint)")
        if let ownerKeyPath = summary.ownerKeyPath {
            print("  owner key        \(ownerKeyPath) (keep it secret)")
            print("  key release      \(Self.releaseNote(release: release, ownerKeyPath: ownerKeyPath))")
        }
        if sealFor == .sim {
            print("  key release      sealed to the simulated platform and this runtime's measurement")
            if release == .owner {
                print("                   (the manifest's release = \"owner\" does not apply: this image starts without "
                      + "`enclava provision`; package with --owner-key-out FILE to hold the key yourself)")
            }
        }
    }
}

extension PackageCommand {
    /// `[keys] release` of the manifest at `manifestPath` (nil when it does not parse: packaging reports that
    /// itself, with its line).
    static func declaredRelease(manifestPath: String) -> Manifest.KeyRelease? {
        (try? Manifest.load(path: manifestPath))?.manifest.keys.release
    }

    /// `--seal-for` makes an image that starts on its own, which contradicts `release = "broker"`: the broker
    /// would never be asked. Refused before anything is written.
    static func checkSealable(release: Manifest.KeyRelease?, manifestPath: String) throws {
        guard release == .broker else { return }
        throw CLIError("\(manifestPath): [keys] release = \"broker\": the key broker releases this image's key, so it "
                       + "cannot be sealed for the simulator; package it with --owner-key-out FILE and give that key to the "
                       + "broker, or set release = \"sealed\" to test it locally with --seal-for sim")
    }

    /// What happens to an owner-held key next, by `[keys] release`.
    static func releaseNote(release: Manifest.KeyRelease?, ownerKeyPath: String) -> String {
        switch release {
        case .broker:
            "held by the owner: give it to the key broker (`enclava keybroker add --owner-key \(ownerKeyPath)`), which "
                + "releases it to enclaves its policy accepts"
        default:
            "held by the owner: the enclave starts waiting for it; release it with `enclava provision --owner-key "
                + "\(ownerKeyPath)` after `enclava serve`"
        }
    }

    /// Refuses, before anything is written, an image the runtime could not load: a model with an unsupported
    /// opset or operators (all of them listed), a malformed or hostile ONNX file, or — for a
    /// `sentence-embedding` pipeline — a model that is not a BERT-style encoder or a vocabulary the tokenizer
    /// refuses. The enclave checks all of this again when it loads the image.
    /// - Returns: the model's inputs and outputs, for the signed header (nil without a model asset).
    @discardableResult
    static func checkRunnable(_ measured: ManifestMeasurement, progress: ((String) -> Void)?) throws -> ImageModelInterface? {
        guard let model = measured.assets.first(where: { $0.role == .model }) else { return nil }
        progress?("checking \(model.name) against the enclave's executor")
        let bytes = try measuredBytes(model)
        let report: ModelSupport.Report
        do {
            report = try bytes.withUnsafeBytes { try ModelSupport.check(onnx: $0) }
        } catch let error as InferenceError {
            throw CLIError("\(model.path): the enclave cannot run this model (\(error.code.rawValue)): \(error.message)")
        }
        let interface = modelInterface(report)
        let rows = report.rowIndependence
        progress?(rows.isProven ? "batching: requests of different sessions may share a model run (rows proven independent)"
                                : "batching: one session per model run (\(rows))")
        let pipeline = measured.manifest.pipeline
        guard pipeline.kind == .sentenceEmbedding else { return interface }
        let pooling = pipeline.pooling ?? Manifest.Pipeline.Defaults.pooling
        guard pooling == .mean else {
            throw CLIError("\(measured.manifestPath): [pipeline] pooling = \"\(pooling.rawValue)\" is not supported by the "
                           + "runtime yet; use pooling = \"mean\"")
        }
        guard let tokenizer = measured.assets.first(where: { $0.role == .tokenizer }) else { return interface }
        guard let vocabulary = String(validating: try measuredBytes(tokenizer), as: UTF8.self) else {
            throw CLIError("\(tokenizer.path): the tokenizer vocabulary is not UTF-8 text; use the checkpoint's vocab.txt")
        }
        let lowercase = pipeline.lowercase ?? Manifest.Pipeline.Defaults.lowercase
        do {
            try ModelSupport.checkSentenceEncoder(report, vocabulary: vocabulary, lowercase: lowercase)
        } catch let error as InferenceError {
            throw CLIError("\(measured.manifestPath): kind = \"sentence-embedding\" does not fit: \(error.message)")
        }
        let maxLength = pipeline.maxSequenceLength ?? Manifest.Pipeline.Defaults.maxSequenceLength
        progress?("checking max_sequence_length = \(maxLength) against \(model.name) (one trial run)")
        do {
            let encoder = try InferenceModel(onnx: bytes, memoryLockPolicy: .allowUnlocked)
            let tokenizer = try WordPieceTokenizer(vocabulary: vocabulary, lowercase: lowercase)
            try SentenceEmbeddingPipeline(model: encoder, tokenizer: tokenizer, maxSequenceLength: maxLength)
                .checkSequenceLength()
        } catch let error as InferenceError {
            throw CLIError("\(measured.manifestPath): [pipeline] \(error.message)")
        }
        return interface
    }

    /// The model's inputs and outputs as it declares them, for the signed header (`enclava inspect` shows them).
    static func modelInterface(_ report: ModelSupport.Report) -> ImageModelInterface {
        func row(_ spec: TensorSpec) -> ImageModelInterface.Tensor {
            let dims = spec.shape.indices.map { spec.shape[$0].map(String.init) ?? spec.dimensionNames[$0] ?? "?" }
            return ImageModelInterface.Tensor(name: spec.name, dtype: "\(spec.dtype)", dims: spec.isRankKnown ? dims : nil)
        }
        return ImageModelInterface(inputs: report.inputs.map(row), outputs: report.outputs.map(row))
    }

    /// The bytes of a measured asset, checked against the SHA-256 that enters the manifest digest, so the
    /// file checked is the file packaged.
    private static func measuredBytes(_ asset: MeasuredAsset) throws -> [UInt8] {
        guard asset.size <= UInt64(ModelLimits().maxModelBytes),
              let data = FileManager.default.contents(atPath: asset.path) else {
            throw CLIError("\(asset.path): cannot read it (or it is larger than \(ModelLimits().maxModelBytes) bytes)")
        }
        let bytes = [UInt8](data)
        guard SHA2.sha256(bytes) == asset.sha256 else {
            throw CLIError("\(asset.path) changed while it was being packaged; package again")
        }
        return bytes
    }
}
