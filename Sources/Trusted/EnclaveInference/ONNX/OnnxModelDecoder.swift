internal import COnnx
import EnclaveSealing

/// Turns an ONNX file into a ``ModelGraph`` and a sealed ``WeightStore``.
///
/// The initializers' `raw_data` is taken out of the file first (``OnnxInitializerStripper``), so protobuf-c
/// decodes only the small remainder, under the limits, into sealed memory (``SealedDecodeArena``); the
/// graph's structure is read into Swift values; every constant tensor is copied once into the weight store —
/// initializers straight from the file — and the decoded message is then zeroized and released with the arena.
enum OnnxModelDecoder {
    /// Memory the decoding used besides the file and the weight store (for tests that check no weights are
    /// copied twice).
    struct Statistics {
        /// Bytes of the file handed to protobuf-c, after the initializers' raw data was taken out.
        var strippedBytes = 0
        /// Bytes protobuf-c allocated in the decode arena.
        var arenaBytes = 0
        /// Initializers copied straight from the file.
        var initializersFromFile = 0
        /// Whether the weights were moved into place inside the file's own sealed memory, which became the
        /// weight store (``decode(file:limits:lockPolicy:statistics:)``).
        var weightsInPlace = false
    }

    /// Where a reserved weight's bytes come from.
    private enum Source {
        case proto(UnsafePointer<Onnx__TensorProto>)
        case file(UnsafePointer<Onnx__TensorProto>, Range<Int>)
        case floats([Float])
        case ints([Int64])
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ModelLimits,
                       lockPolicy: MemoryLockPolicy) throws -> (ModelGraph, WeightStore) {
        var statistics = Statistics()
        return try decode(bytes, inPlace: nil, limits: limits, lockPolicy: lockPolicy, statistics: &statistics)
    }

    /// Decodes a file held in a sealed block the decoder may take over: when every initializer's raw data
    /// can be moved down to its place in the weight layout without overtaking data not yet moved, the
    /// weights are moved inside the file's block, everything else in it is zeroed, and the block becomes the
    /// weight store — so the file and a second copy of the weights are never in memory at once. Otherwise
    /// the weights are copied into a new block, as ``decode(_:limits:lockPolicy:)`` does.
    static func decode(file: SealedBlock, limits: ModelLimits, lockPolicy: MemoryLockPolicy,
                       statistics: inout Statistics) throws -> (ModelGraph, WeightStore) {
        try decode(file.bytes, inPlace: file, limits: limits, lockPolicy: lockPolicy, statistics: &statistics)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, inPlace fileBlock: SealedBlock?, limits: ModelLimits,
                       lockPolicy: MemoryLockPolicy, statistics: inout Statistics) throws -> (ModelGraph, WeightStore) {
        guard bytes.count <= limits.maxModelBytes else {
            throw InferenceError.limit("the model is \(bytes.count) bytes, more than the limit of \(limits.maxModelBytes) bytes")
        }
        guard !bytes.isEmpty else { throw InferenceError.malformed("the model file is empty") }
        var cLimits = enclava_onnx_limits(
            max_bytes: UInt64(clamping: limits.maxModelBytes), max_decoded_bytes: UInt64(clamping: limits.maxDecodedBytes), max_depth: 64,
            max_nodes: UInt64(clamping: limits.maxNodes), max_initializers: UInt64(clamping: limits.maxInitializers),
            max_dims: UInt64(clamping: limits.maxRank), max_elements: UInt64(clamping: limits.maxTensorElements))
        // The remainder is in sealed memory too (it holds Constant values and names); released on return.
        let strippedCount = try OnnxInitializerStripper.measure(bytes)
        let stripped = try SealedBlock(count: max(strippedCount, 1), lockPolicy: lockPolicy, purpose: "decoding the model")
        let slices = try OnnxInitializerStripper.strip(
            bytes, into: UnsafeMutableRawBufferPointer(start: stripped.base, count: strippedCount)).rawData
        let arena = SealedDecodeArena(lockPolicy: lockPolicy, expectedBytes: strippedCount)
        var error = enclava_onnx_error()
        let result = try arena.withAllocator { allocator in
            guard let model = enclava_onnx_model_unpack(stripped.base.assumingMemoryBound(to: UInt8.self), strippedCount,
                                                        &cLimits, allocator, &error) else {
                if let failure = arena.failure { throw failure }
                throw OnnxC.error(&error, context: "the ONNX model")
            }
            // The message lives in the arena; it is zeroized when the arena is released, after this closure.
            return try read(model, file: bytes, inPlace: fileBlock, rawData: slices, limits: limits, lockPolicy: lockPolicy)
        }
        statistics.weightsInPlace = fileBlock != nil && result.1.isBacked(by: fileBlock!)
        statistics.strippedBytes = strippedCount
        statistics.arenaBytes = arena.allocatedBytes
        statistics.initializersFromFile = slices.count { $0 != nil }
        return result
    }

    private static func read(_ model: UnsafeMutablePointer<Onnx__ModelProto>, file: UnsafeRawBufferPointer,
                             inPlace fileBlock: SealedBlock?, rawData: [Range<Int>?], limits: ModelLimits,
                             lockPolicy: MemoryLockPolicy) throws -> (ModelGraph, WeightStore) {
        let m = model.pointee
        var opsets: [String: Int64] = [:]
        for opset in try OnnxC.messages(m.opset_import, m.n_opset_import, "opset import") {
            let domain = OnnxC.string(opset.pointee.domain)
            opsets[domain == "ai.onnx" ? "" : domain] = opset.pointee.has_version != 0 ? opset.pointee.version : 0
        }
        guard let graphPointer = m.graph else { throw InferenceError.malformed("the model has no graph") }
        let graph = graphPointer.pointee
        var layout = WeightLayout(limit: limits.maxWeightBytes)
        var pending: [(Source, WeightRef)] = []
        var nodes: [GraphNode] = []
        for node in try OnnxC.messages(graph.node, graph.n_node, "node") {
            let n = node.pointee
            let opType = OnnxC.string(n.op_type)
            guard !opType.isEmpty else { throw InferenceError.malformed("the model has a node without an op_type") }
            var attributes: [String: AttributeValue] = [:]
            for attribute in try OnnxC.messages(n.attribute, n.n_attribute, "attribute") {
                let name = OnnxC.string(attribute.pointee.name)
                attributes[name] = try readAttribute(attribute, name: name, opType: opType, layout: &layout, pending: &pending)
            }
            nodes.append(GraphNode(name: OnnxC.string(n.name), opType: opType, domain: OnnxC.string(n.domain),
                                   inputs: OnnxC.strings(n.input, n.n_input), outputs: OnnxC.strings(n.output, n.n_output),
                                   attributes: attributes))
        }

        // Opset and operator support first: an unsupported model is named as such before its weights are read.
        _ = try GraphPlanner.checkSupport(opsets: opsets, nodes: nodes)
        if graph.n_sparse_initializer > 0 {
            throw InferenceError(.unsupportedDataType, "the model has sparse initializers, which Enclava does not support; "
                                 + "store them dense")
        }

        var initializers: [(name: String, weight: WeightRef)] = []
        let tensors = try OnnxC.messages(graph.initializer, graph.n_initializer, "initializer")
        guard tensors.count == rawData.count else {
            throw InferenceError.malformed("the model's initializers could not be located in the file; re-export it")
        }
        for (tensor, raw) in zip(tensors, rawData) {
            let name = OnnxC.string(tensor.pointee.name)
            guard !name.isEmpty else { throw InferenceError.malformed("the model has an initializer without a name") }
            let (dtype, shape) = try OnnxTensorReader.describe(tensor, role: "initializer", dataInFile: raw != nil)
            let weight = try layout.reserve(dtype: dtype, shape: shape, name: name)
            if let raw {
                pending.append((.file(UnsafePointer(tensor), raw), weight))
            } else {
                pending.append((.proto(UnsafePointer(tensor)), weight))
            }
            initializers.append((name, weight))
        }

        let store = try fill(pending, totalBytes: layout.totalBytes, file: file, inPlace: fileBlock, lockPolicy: lockPolicy)

        let inputs = try OnnxC.messages(graph.input, graph.n_input, "graph input").map(readValueInfo)
        let outputs = try OnnxC.messages(graph.output, graph.n_output, "graph output").map(readValueInfo)
        let modelGraph = ModelGraph(irVersion: m.has_ir_version != 0 ? m.ir_version : 0, opsets: opsets, nodes: nodes,
                                    initializers: initializers, inputs: inputs, outputs: outputs)
        return (modelGraph, store)
    }

    /// Copies every reserved weight into the store: moved inside the file's block when that is possible
    /// (see ``decode(file:limits:lockPolicy:statistics:)``), else copied into a new block.
    private static func fill(_ pending: [(Source, WeightRef)], totalBytes: Int, file: UnsafeRawBufferPointer,
                             inPlace fileBlock: SealedBlock?, lockPolicy: MemoryLockPolicy) throws -> WeightStore {
        for case (.file(let tensor, let raw), let weight) in pending where raw.count != weight.byteCount {
            throw InferenceError.malformed("tensor '\(OnnxTensorReader.name(tensor))' holds \(raw.count) bytes of raw data "
                                           + "but needs \(weight.byteCount)")
        }
        // Moving down in file order is safe when each weight lands at or before its source: it then never
        // overwrites raw data that is still to be moved (that lies after its source).
        let movable = pending.allSatisfy { source, weight in
            if case .file(_, let raw) = source { return weight.offset <= raw.lowerBound }
            return true
        }
        let block: SealedBlock
        if let fileBlock, movable, totalBytes <= fileBlock.count {
            block = fileBlock
            var covered: [Range<Int>] = []
            for case (.file(_, let raw), let weight) in pending {
                if weight.offset != raw.lowerBound {
                    (block.base + weight.offset).copyMemory(from: block.base + raw.lowerBound, byteCount: weight.byteCount)
                }
                covered.append(weight.offset..<(weight.offset + weight.byteCount))
            }
            // Zero the rest of the file (structure, moved-from bytes); the other weights are written over it.
            var start = 0
            for range in covered.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if range.lowerBound > start { (block.base + start).initializeMemory(as: UInt8.self, repeating: 0, count: range.lowerBound - start) }
                start = max(start, range.upperBound)
            }
            if block.count > start { (block.base + start).initializeMemory(as: UInt8.self, repeating: 0, count: block.count - start) }
        } else {
            block = try SealedBlock(count: totalBytes, lockPolicy: lockPolicy, purpose: "the model's weights")
            for case (.file(let tensor, let raw), let weight) in pending {
                try OnnxTensorReader.copy(UnsafeRawBufferPointer(rebasing: file[raw]), of: tensor, as: weight,
                                          into: UnsafeMutableRawBufferPointer(start: block.base + weight.offset, count: weight.byteCount))
            }
        }
        for (source, weight) in pending {
            let destination = UnsafeMutableRawBufferPointer(start: block.base + weight.offset, count: weight.byteCount)
            switch source {
            case .proto(let tensor): try OnnxTensorReader.copy(tensor, as: weight, into: destination)
            case .file: break
            case .floats(let values): values.withUnsafeBytes { destination.copyMemory(from: $0) }
            case .ints(let values): values.withUnsafeBytes { destination.copyMemory(from: $0) }
            }
        }
        return WeightStore(block: block, byteCount: totalBytes)
    }

    private static func readAttribute(_ attribute: UnsafeMutablePointer<Onnx__AttributeProto>, name: String, opType: String,
                                      layout: inout WeightLayout, pending: inout [(Source, WeightRef)]) throws -> AttributeValue {
        let a = attribute.pointee
        let type = a.has_type != 0 ? Int(a.type.rawValue) : inferredType(a)
        switch type {
        case 1:
            // Constant's value_float / value_floats / value_int / value_ints become tensors like `value`.
            if opType == "Constant", name == "value_float" { return try constant(.floats([a.f]), .float32, [], name, &layout, &pending) }
            return .float(a.f)
        case 2:
            if opType == "Constant", name == "value_int" { return try constant(.ints([a.i]), .int64, [], name, &layout, &pending) }
            return .int(a.i)
        case 3: return .string(OnnxC.text(a.s))
        case 4:
            guard let tensor = a.t else { throw InferenceError.malformed("\(opType) attribute '\(name)' has no tensor") }
            let dtype: TensorDataType, shape: [Int]
            do {
                (dtype, shape) = try OnnxTensorReader.describe(tensor, role: "\(opType) attribute '\(name)'")
            } catch let error as InferenceError where error.code == .unsupportedDataType {
                return .unsupported(error.message)   // reported by the operator that reads it, if any
            }
            let weight = try layout.reserve(dtype: dtype, shape: shape, name: name)
            pending.append((.proto(UnsafePointer(tensor)), weight))
            return .tensor(weight)
        case 6:
            let values = OnnxC.values(a.floats, a.n_floats)
            if opType == "Constant", name == "value_floats" {
                return try constant(.floats(values), .float32, [values.count], name, &layout, &pending)
            }
            return .floats(values)
        case 7:
            let values = OnnxC.values(a.ints, a.n_ints)
            if opType == "Constant", name == "value_ints" {
                return try constant(.ints(values), .int64, [values.count], name, &layout, &pending)
            }
            return .ints(values)
        case 8: return .strings((0..<a.n_strings).map { OnnxC.text(a.strings[$0]) })
        case 5, 10: return .unsupported("sub-graph")
        case 11, 12: return .unsupported("sparse tensor")
        default: return .unsupported("attribute type \(type)")
        }
    }

    /// AttributeProto.type for files that leave it unset (older exporters).
    private static func inferredType(_ a: Onnx__AttributeProto) -> Int {
        if a.has_f != 0 { return 1 }
        if a.has_i != 0 { return 2 }
        if a.has_s != 0 { return 3 }
        if a.t != nil { return 4 }
        if a.g != nil { return 5 }
        if a.n_floats > 0 { return 6 }
        if a.n_ints > 0 { return 7 }
        if a.n_strings > 0 { return 8 }
        return 0
    }

    private static func constant(_ source: Source, _ dtype: TensorDataType, _ shape: [Int], _ name: String,
                                 _ layout: inout WeightLayout, _ pending: inout [(Source, WeightRef)]) throws -> AttributeValue {
        let weight = try layout.reserve(dtype: dtype, shape: shape, name: name)
        pending.append((source, weight))
        return .tensor(weight)
    }

    private static func readValueInfo(_ value: UnsafeMutablePointer<Onnx__ValueInfoProto>) throws -> GraphValueInfo {
        let name = OnnxC.string(value.pointee.name)
        guard let tensorType = enclava_onnx_type_tensor(value.pointee.type) else {
            return GraphValueInfo(name: name, elementType: 0, shape: nil, dimensionNames: [])
        }
        let elementType = tensorType.pointee.has_elem_type != 0 ? tensorType.pointee.elem_type : 0
        guard let shapeProto = tensorType.pointee.shape else {
            return GraphValueInfo(name: name, elementType: elementType, shape: nil, dimensionNames: [])
        }
        let dimensions = try OnnxC.messages(shapeProto.pointee.dim, shapeProto.pointee.n_dim, "dimension")
        var shape: [Int?] = []
        var names: [String?] = []
        for dimension in dimensions {
            if enclava_onnx_dim_has_value(dimension) != 0 {
                shape.append(Int(enclava_onnx_dim_value(dimension)))
                names.append(nil)
            } else {
                shape.append(nil)
                let param = enclava_onnx_dim_param(dimension).map { String(cString: $0) }
                names.append(param?.isEmpty == false ? param : nil)
            }
        }
        return GraphValueInfo(name: name, elementType: elementType, shape: shape, dimensionNames: names)
    }
}
