import Foundation

/// A minimal protobuf writer, enough to build ONNX models (good and hostile) inside the tests and benchmarks,
/// so every crafted model is spelled out next to the code that uses it.
public struct ProtoWriter {
    /// An empty writer.
    public init() {}

    /// The encoded message so far.
    public private(set) var bytes: [UInt8] = []

    /// Appends a base-128 varint.
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a field key.
    public mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    /// Appends a varint field.
    public mutating func int(_ field: Int, _ value: Int64) {
        tag(field, 0)
        varint(UInt64(bitPattern: value))
    }

    /// Appends a fixed32 float field.
    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a length-delimited field.
    public mutating func data(_ field: Int, _ value: [UInt8]) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends a UTF-8 string field.
    public mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

    /// Appends a nested message built by `build`.
    public mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        build(&inner)
        data(field, inner.bytes)
    }
}

/// ONNX messages, by field number (onnx.proto).
public enum Onnx {
    /// A dimension: a fixed size or a symbolic name.
    public enum Dim: Sendable { case value(Int64), param(String) }

    /// Appends a tensor ValueInfoProto (nil `dims`: no shape declared).
    public static func valueInfo(_ w: inout ProtoWriter, field: Int, name: String, elemType: Int64 = 1, dims: [Dim]?) {
        w.message(field) { v in
            v.string(1, name)
            v.message(2) { type in
                type.message(1) { tensor in
                    tensor.int(1, elemType)
                    if let dims {
                        tensor.message(2) { shape in
                            for dim in dims {
                                shape.message(1) { d in
                                    switch dim {
                                    case .value(let n): d.int(1, n)
                                    case .param(let s): d.string(2, s)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A NodeProto.
    public struct Node: Sendable {
        /// The op type, inputs, outputs, domain and attributes.
        public var op: String
        public var inputs: [String]
        public var outputs: [String]
        public var domain: String
        public var intAttributes: [String: Int64]
        public var floatAttributes: [String: Float]
        public var intsAttributes: [String: [Int64]]

        /// A node; attributes default to none.
        public init(op: String, inputs: [String], outputs: [String], domain: String = "", intAttributes: [String: Int64] = [:],
                    floatAttributes: [String: Float] = [:], intsAttributes: [String: [Int64]] = [:]) {
            (self.op, self.inputs, self.outputs, self.domain) = (op, inputs, outputs, domain)
            (self.intAttributes, self.floatAttributes, self.intsAttributes) = (intAttributes, floatAttributes, intsAttributes)
        }
    }

    /// A TensorProto initializer (float data, raw bytes of another type, or a hostile external reference).
    public struct Initializer: Sendable {
        /// Name, dimensions, contents and element type.
        public var name: String
        public var dims: [Int64]
        public var floats: [Float]?
        public var rawData: [UInt8]?
        public var dataType: Int64
        public var external: Bool

        /// An initializer; float32 unless `dataType` says otherwise.
        public init(name: String, dims: [Int64], floats: [Float]? = nil, rawData: [UInt8]? = nil, dataType: Int64 = 1,
                    external: Bool = false) {
            (self.name, self.dims, self.floats, self.rawData, self.dataType, self.external) = (name, dims, floats, rawData, dataType, external)
        }
    }

    /// A whole ModelProto.
    public static func model(opset: Int64 = 13, nodes: [Node], initializers: [Initializer] = [],
                      inputs: [(String, Int64, [Dim]?)], outputs: [(String, [Dim]?)],
                      extraGraph: ((inout ProtoWriter) -> Void)? = nil) -> [UInt8] {
        var w = ProtoWriter()
        w.int(1, 8)                                        // ir_version
        w.message(8) { o in o.string(1, ""); o.int(2, opset) }
        w.message(7) { g in
            for node in nodes {
                g.message(1) { n in
                    for input in node.inputs { n.string(1, input) }
                    for output in node.outputs { n.string(2, output) }
                    n.string(3, "\(node.op.lowercased())_\(node.outputs.first ?? "")")
                    n.string(4, node.op)
                    if !node.domain.isEmpty { n.string(7, node.domain) }
                    for (key, value) in node.intAttributes.sorted(by: { $0.key < $1.key }) {
                        n.message(5) { a in a.string(1, key); a.int(3, value); a.int(20, 2) }
                    }
                    for (key, value) in node.floatAttributes.sorted(by: { $0.key < $1.key }) {
                        n.message(5) { a in a.string(1, key); a.float(2, value); a.int(20, 1) }
                    }
                    for (key, values) in node.intsAttributes.sorted(by: { $0.key < $1.key }) {
                        n.message(5) { a in a.string(1, key); for v in values { a.int(8, v) }; a.int(20, 7) }
                    }
                }
            }
            g.string(2, "test")
            for initializer in initializers {
                g.message(5) { t in
                    for d in initializer.dims { t.int(1, d) }
                    t.int(2, initializer.dataType)
                    if let floats = initializer.floats {
                        var packed: [UInt8] = []
                        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { packed.append(contentsOf: $0) } }
                        t.data(4, packed)
                    }
                    t.string(8, initializer.name)
                    if let raw = initializer.rawData { t.data(9, raw) }
                    if initializer.external {
                        t.message(13) { e in e.string(1, "location"); e.string(2, "../../etc/passwd") }
                        t.int(14, 1)
                    }
                }
            }
            for (name, type, dims) in inputs { valueInfo(&g, field: 11, name: name, elemType: type, dims: dims) }
            for (name, dims) in outputs { valueInfo(&g, field: 12, name: name, dims: dims) }
            extraGraph?(&g)
        }
        return w.bytes
    }
}
