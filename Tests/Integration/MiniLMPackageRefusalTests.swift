import EnclavaTesting
import Foundation
import Testing

/// `enclava package` refuses, before writing anything, a model the enclave could not run: unsupported
/// operators and opset (all listed at once), a cyclic graph, a missing initializer, external data that
/// would escape the image, huge declared dimensions, and a `sentence-embedding` manifest over a model that
/// is not a BERT encoder. Every model is generated here, one defect at a time, from a valid baseline.
@Suite struct MiniLMPackageRefusalTests {
    let fixture = CLIFixture.shared

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let model: [UInt8]
        let expected: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "baseline", model: CraftedOnnx.model(nodes: [.init("Relu", ["x"], ["y"])]), expected: []),
        Case(name: "unsupported operators and opset",
             model: CraftedOnnx.model(opset: 11, nodes: [.init("Relu", ["x"], ["a"]), .init("FancyOp", ["a"], ["b"]),
                                                         .init("Foo", ["b"], ["y"], domain: "com.example")]),
             expected: ["UNSUPPORTED_OPERATOR", "ONNX opset 11", "FancyOp", "com.example:Foo"]),
        Case(name: "cyclic graph",
             model: CraftedOnnx.model(nodes: [.init("Add", ["x", "b"], ["a"]), .init("Relu", ["a"], ["b"]), .init("Relu", ["a"], ["y"])]),
             expected: ["MALFORMED_MODEL", "cycle"]),
        Case(name: "missing initializer",
             model: CraftedOnnx.model(nodes: [.init("Add", ["x", "w"], ["y"])]),
             expected: ["MALFORMED_MODEL", "'w'", "missing initializer"]),
        Case(name: "external data escaping the image",
             model: CraftedOnnx.model(nodes: [.init("Add", ["x", "w"], ["y"])],
                                      initializers: [.init(name: "w", dims: [4], externalLocation: "../../etc/passwd")]),
             expected: ["MALFORMED_MODEL", "external file"]),
        Case(name: "huge declared dimensions",
             model: CraftedOnnx.model(nodes: [.init("Relu", ["x"], ["y"])], inputDims: [1 << 20, 1 << 20, 1 << 20]),
             expected: ["RESOURCE_LIMIT"]),
        Case(name: "not protobuf", model: Array("this is not an ONNX model".utf8), expected: ["MALFORMED_MODEL"]),
    ]

    @Test(arguments: cases)
    func packageRefusesModelsTheEnclaveCannotRun(_ crafted: Case) throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-badmodel")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(crafted.model).write(to: folder.appendingPathComponent("model.onnx"))
        try "[image]\nname = \"crafted\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n"
            .write(to: folder.appendingPathComponent("manifest.toml"), atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("out.eimg")
        let result = try fixture.run(["package", "--manifest", folder.appendingPathComponent("manifest.toml").path,
                                      "--signer", fixture.signer.path, "--out", out.path, "--seal-for", "sim"])
        if crafted.expected.isEmpty {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: out.path))
            return
        }
        #expect(result.status != 0)
        for phrase in crafted.expected { #expect(result.stderr.contains(phrase), "missing \(phrase): \(result.stderr)") }
        #expect(result.stderr.contains("the enclave cannot run this model"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["manifest.toml", "model.onnx"])
    }

    @Test func sentenceEmbeddingNeedsAnEncoderAndAVocabulary() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-badpipeline")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(CraftedOnnx.model(nodes: [.init("Relu", ["x"], ["y"])])).write(to: folder.appendingPathComponent("model.onnx"))
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".write(to: folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let manifest = "[image]\nname = \"crafted\"\nversion = \"1\"\n[model]\nfile = \"model.onnx\"\n"
            + "[pipeline]\nkind = \"sentence-embedding\"\ntokenizer = \"vocab.txt\"\n"
        try manifest.write(to: folder.appendingPathComponent("manifest.toml"), atomically: true, encoding: .utf8)
        let result = try fixture.run(["package", "--manifest", folder.appendingPathComponent("manifest.toml").path,
                                      "--signer", fixture.signer.path, "--out", folder.appendingPathComponent("out.eimg").path,
                                      "--seal-for", "sim"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("sentence-embedding") && result.stderr.contains("input_ids"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out.eimg").path))
    }

    /// all-MiniLM-L6-v2 has 512 position embeddings: a manifest asking for 1024 tokens used to package, then
    /// fail on the first long text with an internal broadcast error. Now `enclava package` runs the encoder once at
    /// that length and names the longest length that works; 512 itself packages.
    @Test func aSequenceLengthBeyondThePositionEmbeddingsIsRefused() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-seqlen")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = try String(contentsOf: TestPaths.packageRoot().appendingPathComponent("Manifests/minilm.toml"), encoding: .utf8)
        let assets = TestPaths.shared().appendingPathComponent("models/all-MiniLM-L6-v2").path
        func package(length: Int) throws -> (TestProcess.Result, URL) {
            let path = folder.appendingPathComponent("minilm-\(length).toml")
            try manifest.replacingOccurrences(of: "max_sequence_length = 256", with: "max_sequence_length = \(length)")
                .write(to: path, atomically: true, encoding: .utf8)
            let out = folder.appendingPathComponent("minilm-\(length).eimg")
            let result = try fixture.run(["package", "--manifest", path.path, "--asset-root", assets, "--signer",
                                          fixture.signer.path, "--out", out.path, "--seal-for", "sim"])
            return (result, out)
        }
        let (refused, notWritten) = try package(length: 1024)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("max_sequence_length = 1024 is more than this model takes"), "\(refused.stderr)")
        #expect(refused.stderr.contains("set max_sequence_length to at most 512"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: notWritten.path))
        let (accepted, written) = try package(length: 512)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(FileManager.default.fileExists(atPath: written.path))
    }
}

/// ONNX models written field by field (onnx.proto numbers), so each crafted defect is visible in the test.
enum CraftedOnnx {
    struct Node {
        let op: String, inputs: [String], outputs: [String], domain: String
        init(_ op: String, _ inputs: [String], _ outputs: [String], domain: String = "") {
            (self.op, self.inputs, self.outputs, self.domain) = (op, inputs, outputs, domain)
        }
    }

    struct Initializer {
        let name: String, dims: [Int64], externalLocation: String
    }

    /// x[N, 4] float32 → nodes → y.
    static func model(opset: Int64 = 13, nodes: [Node], initializers: [Initializer] = [],
                      inputDims: [Int64]? = nil) -> [UInt8] {
        var model = Writer()
        model.int(1, 8)                                                       // ir_version
        model.message(8) { $0.string(1, ""); $0.int(2, opset) }               // opset_import
        model.message(7) { graph in                                           // graph
            for (index, node) in nodes.enumerated() {
                graph.message(1) { n in
                    node.inputs.forEach { n.string(1, $0) }
                    node.outputs.forEach { n.string(2, $0) }
                    n.string(3, "node\(index)")
                    n.string(4, node.op)
                    if !node.domain.isEmpty { n.string(7, node.domain) }
                }
            }
            graph.string(2, "crafted")
            for initializer in initializers {
                graph.message(5) { t in
                    initializer.dims.forEach { t.int(1, $0) }
                    t.int(2, 1)                                                // FLOAT
                    t.string(8, initializer.name)
                    t.message(13) { $0.string(1, "location"); $0.string(2, initializer.externalLocation) }
                    t.int(14, 1)                                               // data_location = EXTERNAL
                }
            }
            valueInfo(&graph, field: 11, name: "x", dims: inputDims)
            valueInfo(&graph, field: 12, name: "y", dims: nil)
        }
        return model.bytes
    }

    /// A float32 value info; nil dims means [N, 4].
    private static func valueInfo(_ graph: inout Writer, field: Int, name: String, dims: [Int64]?) {
        graph.message(field) { v in
            v.string(1, name)
            v.message(2) { type in
                type.message(1) { tensor in
                    tensor.int(1, 1)
                    tensor.message(2) { shape in
                        if let dims {
                            for dim in dims { shape.message(1) { $0.int(1, dim) } }
                        } else {
                            shape.message(1) { $0.string(2, "N") }
                            shape.message(1) { $0.int(1, 4) }
                        }
                    }
                }
            }
        }
    }

    /// Protobuf encoding: varints, length-delimited fields.
    struct Writer {
        var bytes: [UInt8] = []
        mutating func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 { bytes.append(UInt8(rest & 0x7f) | 0x80); rest >>= 7 }
            bytes.append(UInt8(rest))
        }
        mutating func int(_ field: Int, _ value: Int64) { varint(UInt64(field << 3)); varint(UInt64(bitPattern: value)) }
        mutating func data(_ field: Int, _ value: [UInt8]) {
            varint(UInt64(field << 3 | 2)); varint(UInt64(value.count)); bytes.append(contentsOf: value)
        }
        mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }
        mutating func message(_ field: Int, _ build: (inout Writer) -> Void) {
            var inner = Writer()
            build(&inner)
            data(field, inner.bytes)
        }
    }
}
