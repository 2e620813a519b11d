/// Turns a decoded ``ModelGraph`` into an ``ExecutionPlan``: checks the opset and that every operator is
/// supported (listing all that are not), orders the nodes topologically (refusing cycles and references to
/// values nothing defines), folds `Constant` nodes into the weights, builds the operators and propagates
/// element types, marks the values shapes depend on and folds shape arithmetic over constants
/// (``ConstantFolder``). Everything here runs once, at load time.
enum GraphPlanner {
    static func plan(_ graph: ModelGraph, weights: WeightStore, limits: ModelLimits) throws -> ExecutionPlan {
        let opset = try checkSupport(opsets: graph.opsets, nodes: graph.nodes)

        var values: [ExecutionPlan.Value] = []
        var slotByName: [String: Int] = [:]
        func define(_ name: String, _ dtype: TensorDataType, _ source: ExecutionPlan.Source, by definer: String) throws -> Int {
            if !name.isEmpty, slotByName[name] != nil {
                throw InferenceError.malformed("value '\(name)' is defined twice (again by \(definer))")
            }
            values.append(ExecutionPlan.Value(name: name, dtype: dtype, source: source))
            if !name.isEmpty { slotByName[name] = values.count - 1 }
            return values.count - 1
        }

        for (name, weight) in graph.initializers {
            _ = try define(name, weight.dtype, .weight(weight), by: "an initializer")
        }
        // Graph inputs that have an initializer are constants with a default (IR < 4 style); not requested.
        var inputs: [TensorSpec] = []
        var inputSlots: [Int] = []
        for info in graph.inputs where slotByName[info.name] == nil {
            guard !info.name.isEmpty else { throw InferenceError.malformed("the model has an input without a name") }
            let spec = try spec(for: info, role: "input", limits: limits)
            inputSlots.append(try define(info.name, spec.dtype, .input(inputs.count), by: "a graph input"))
            inputs.append(spec)
        }

        var steps: [ExecutionPlan.Step] = []
        for node in try topologicalOrder(graph.nodes, defined: Set(slotByName.keys)) {
            if node.opType == "Identity", node.inputs.count == 1, node.outputs.count == 1, let source = slotByName[node.inputs[0]],
               case .weight(let weight) = values[source].source {
                // An exporter's alias of a weight (tied parameters): the same constant under another name.
                _ = try define(node.outputs[0], weight.dtype, .weight(weight), by: node.label)
                continue
            }
            if node.opType == "Constant" {
                let weight = try constantValue(node)
                _ = try define(node.outputs[0], weight.dtype, .weight(weight), by: node.label)
                continue
            }
            let op = try OperatorRegistry.make(node, opset: opset, weights: weights)
            let inputSlots: [Int?] = node.inputs.map { $0.isEmpty ? nil : slotByName[$0]! }
            let types = try op.outputTypes(inputSlots.map { $0.map { values[$0].dtype } })
            guard types.count == node.outputs.count else {
                throw InferenceError.malformed("\(node.label) has \(node.outputs.count) outputs, expected \(types.count)")
            }
            var outputSlots: [Int] = []
            for (name, type) in zip(node.outputs, types) {
                outputSlots.append(try define(name, type, .computed, by: node.label))
            }
            steps.append(ExecutionPlan.Step(label: node.label, op: op, inputs: inputSlots, outputs: outputSlots))
        }

        var outputs: [TensorSpec] = []
        var outputSlots: [Int] = []
        for info in graph.outputs {
            guard let slot = slotByName[info.name] else {
                throw InferenceError.malformed("graph output '\(info.name)' is not produced by any node, input or initializer")
            }
            let declared = info.shape
            outputs.append(TensorSpec(name: info.name, dtype: values[slot].dtype, shape: declared ?? [],
                                      dimensionNames: declared == nil ? [] : info.dimensionNames, isRankKnown: declared != nil))
            outputSlots.append(slot)
        }
        guard !outputs.isEmpty else { throw InferenceError.malformed("the model declares no outputs") }
        var plan = ExecutionPlan(values: values, steps: steps, inputs: inputs, inputSlots: inputSlots,
                                 outputs: outputs, outputSlots: outputSlots, opset: opset)
        ConstantFolder.markShapeValues(&plan)
        try ConstantFolder.fold(&plan, weights: weights, limits: limits)
        PatternFuser.fuse(&plan, weights: weights)
        return plan
    }

    /// Checks the opset and that every operator is supported; the decoder calls it as soon as it has read
    /// the nodes, so these two errors come before any about the weights.
    /// - Returns: the default-domain opset version.
    /// - Throws: ``InferenceError`` `unsupportedOpset`, or `unsupportedOperator` listing every missing op.
    static func checkSupport(opsets: [String: Int64], nodes: [GraphNode]) throws -> Int64 {
        let opset = try checkOpset(opsets, nodes: nodes)
        let missing = OperatorRegistry.unsupported(in: nodes)
        guard missing.isEmpty else {
            throw InferenceError(.unsupportedOperator,
                                 "the model uses operators Enclava does not support: \(missing.joined(separator: ", ")); "
                                 + "export it with supported operators or wait for a release that adds them",
                                 operators: missing)
        }
        return opset
    }

    private static func checkOpset(_ opsets: [String: Int64], nodes: [GraphNode]) throws -> Int64 {
        guard let version = opsets[""] else {
            if nodes.isEmpty { return OperatorRegistry.opsetRange.lowerBound }
            throw InferenceError(.unsupportedOpset, "the model imports no version of the default ONNX opset; re-export it with opset 13 or later")
        }
        let range = OperatorRegistry.opsetRange
        guard range.contains(version) else {
            throw InferenceError(.unsupportedOpset,
                                 "the model uses ONNX opset \(version); Enclava runs opsets \(range.lowerBound)…\(range.upperBound): "
                                 + "convert it with onnx.version_converter.convert_version(model, \(range.lowerBound))")
        }
        return version
    }

    private static func spec(for info: GraphValueInfo, role: String, limits: ModelLimits) throws -> TensorSpec {
        guard info.elementType != 0 else {
            throw InferenceError.malformed("\(role) '\(info.name)' has no tensor type")
        }
        guard let dtype = TensorDataType(onnxCode: info.elementType) else {
            throw InferenceError(.unsupportedDataType, "\(role) '\(info.name)' has element type "
                                 + "\(TensorDataType.onnxName(info.elementType)); Enclava supports float32, int64, int32 and bool")
        }
        guard let shape = info.shape else {
            return TensorSpec(name: info.name, dtype: dtype, shape: [], dimensionNames: [], isRankKnown: false)
        }
        guard shape.count <= limits.maxRank else {
            throw InferenceError.limit("\(role) '\(info.name)' has rank \(shape.count), more than the limit of \(limits.maxRank)")
        }
        guard let fixed = Shape.elementCount(shape.compactMap { $0 }), fixed <= limits.maxTensorElements else {
            throw InferenceError.limit("\(role) '\(info.name)' declares more than \(limits.maxTensorElements) elements (the per-tensor limit)")
        }
        return TensorSpec(name: info.name, dtype: dtype, shape: shape, dimensionNames: info.dimensionNames)
    }

    private static func constantValue(_ node: GraphNode) throws -> WeightRef {
        try node.requireArity(inputs: 0...0, outputs: 1)
        var found: [WeightRef] = []
        for (key, value) in node.attributes {
            switch (key, value) {
            case ("value", .tensor(let w)), ("value_float", .tensor(let w)), ("value_floats", .tensor(let w)),
                 ("value_int", .tensor(let w)), ("value_ints", .tensor(let w)):
                found.append(w)
            case ("value", .unsupported(let why)):
                throw InferenceError(.unsupportedDataType, "\(node.label): \(why)")
            default:
                throw InferenceError(.unsupportedOperator, "\(node.label): attribute '\(key)' is not supported",
                                     operators: ["Constant(\(key))"])
            }
        }
        guard found.count == 1 else {
            throw InferenceError.malformed("\(node.label) must have exactly one value attribute, has \(found.count)")
        }
        return found[0]
    }

    /// Kahn's algorithm, stable in file order.
    /// - Throws: ``InferenceError`` `malformedModel` for a cycle or for an input nothing defines.
    static func topologicalOrder(_ nodes: [GraphNode], defined: Set<String>) throws -> [GraphNode] {
        var producer: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if defined.contains(output) || producer[output] != nil {
                    throw InferenceError.malformed("value '\(output)' is defined twice (again by \(node.label))")
                }
                producer[output] = index
            }
        }
        var pending = [Int](repeating: 0, count: nodes.count)
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty {
                if let source = producer[input] {
                    pending[index] += 1
                    consumers[source].append(index)
                } else if !defined.contains(input) {
                    throw InferenceError.malformed("\(node.label) reads '\(input)', which no node, graph input or initializer "
                                                   + "defines (a missing initializer?)")
                }
            }
        }
        var ready = nodes.indices.filter { pending[$0] == 0 }
        var order: [Int] = []
        var cursor = 0
        while cursor < ready.count {
            let index = ready[cursor]
            cursor += 1
            order.append(index)
            for consumer in consumers[index] {
                pending[consumer] -= 1
                if pending[consumer] == 0 { ready.append(consumer) }
            }
        }
        guard order.count == nodes.count else {
            let stuck = nodes.indices.filter { pending[$0] > 0 }.prefix(5).map { nodes[$0].label }
            throw InferenceError.malformed("the graph has a cycle through \(stuck.joined(separator: ", ")); "
                                           + "an ONNX graph must be acyclic")
        }
        return order.map { nodes[$0] }
    }
}
