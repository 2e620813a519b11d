internal import COnnx
import EnclaveSealing

/// Turns an ONNX file into a ``ModelGraph`` and a sealed ``WeightStore``.
///
/// protobuf-c decodes the file under the limits into sealed memory (``SealedDecodeArena``); the graph's
/// structure is read into Swift values; every constant tensor is copied once into the weight store; the
/// decoded message is then zeroized and released with the arena.
enum OnnxModelDecoder {
    /// Where a reserved weight's bytes come from.
    private enum Source {
        case proto(UnsafePointer<Onnx__TensorProto>)
        case floats([Float])
        case ints([Int64])
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ModelLimits,
                       lockPolicy: MemoryLockPolicy) throws -> (ModelGraph, WeightStore) {
        guard bytes.count <= limits.maxModelBytes else {
            throw InferenceError.limit("the model is \(bytes.count) bytes, more than the limit of \(limits.maxModelBytes) bytes")
        }
        guard !bytes.isEmpty else { throw InferenceError.malformed("the model file is empty") }
        var cLimits = enclava_onnx_limits(
            max_bytes: UInt64(clamping: limits.maxModelBytes), max_decoded_bytes: UInt64(clamping: limits.maxDecodedBytes), max_depth: 64,
            max_nodes: UInt64(clamping: limits.maxNodes), max_initializers: UInt64(clamping: limits.maxInitializers),
            max_dims: UInt64(clamping: limits.maxRank), max_elements: UInt64(clamping: limits.maxTensorElements))
        let arena = SealedDecodeArena(lockPolicy: lockPolicy, expectedBytes: bytes.count)
        var error = enclava_onnx_error()
        return try arena.withAllocator { allocator in
            guard let model = enclava_onnx_model_unpack(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count,
                                                        &cLimits, allocator, &error) else {
                if let failure = arena.failure { throw failure }
                throw OnnxC.error(&error, context: "the ONNX model")
            }
            // The message lives in the arena; it is zeroized when the arena is released, after this closure.
            return try read(model, limits: limits, lockPolicy: lockPolicy)
        }
    }

    private static func read(_ model: UnsafeMutablePointer<Onnx__ModelProto>, limits: ModelLimits,
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
        for tensor in try OnnxC.messages(graph.initializer, graph.n_initializer, "initializer") {
            let name = OnnxC.string(tensor.pointee.name)
            guard !name.isEmpty else { throw InferenceError.malformed("the model has an initializer without a name") }
            let (dtype, shape) = try OnnxTensorReader.describe(tensor, role: "initializer")
            let weight = try layout.reserve(dtype: dtype, shape: shape, name: name)
            pending.append((.proto(UnsafePointer(tensor)), weight))
            initializers.append((name, weight))
        }

        let block = try SealedBlock(count: layout.totalBytes, lockPolicy: lockPolicy, purpose: "the model's weights")
        let store = WeightStore(block: block)
        for (source, weight) in pending {
            let destination = UnsafeMutableRawBufferPointer(start: block.base + weight.offset, count: weight.byteCount)
            switch source {
            case .proto(let tensor): try OnnxTensorReader.copy(tensor, as: weight, into: destination)
            case .floats(let values): values.withUnsafeBytes { destination.copyMemory(from: $0) }
            case .ints(let values): values.withUnsafeBytes { destination.copyMemory(from: $0) }
            }
        }

        let inputs = try OnnxC.messages(graph.input, graph.n_input, "graph input").map(readValueInfo)
        let outputs = try OnnxC.messages(graph.output, graph.n_output, "graph output").map(readValueInfo)
        let modelGraph = ModelGraph(irVersion: m.has_ir_version != 0 ? m.ir_version : 0, opsets: opsets, nodes: nodes,
                                    initializers: initializers, inputs: inputs, outputs: outputs)
        return (modelGraph, store)
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
