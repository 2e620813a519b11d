/// Checks a request's inputs against the model's declared ``TensorSpec``s before anything is allocated for
/// them: names, element types, ranks, fixed dimensions, dynamic dimensions that share a name (such as the
/// batch dimension `N` across inputs), element limits and byte counts.
struct InputValidator {
    let specs: [TensorSpec]
    let limits: ModelLimits

    /// The inputs in the order of `specs`.
    /// - Throws: ``InferenceError`` `invalidArgument` naming the first wrong input.
    func validate(_ inputs: [String: HostTensor]) throws -> [HostTensor] {
        let known = Set(specs.map(\.name))
        if let unknown = inputs.keys.sorted().first(where: { !known.contains($0) }) {
            throw InferenceError.invalidInput(unknown, "the model has no such input; its inputs are "
                                              + specs.map { "'\($0.name)' \($0.dtype) \($0.shapeDescription)" }.joined(separator: ", "))
        }
        var boundDimensions: [String: (size: Int, input: String)] = [:]
        return try specs.map { spec in
            guard let tensor = inputs[spec.name] else {
                throw InferenceError.invalidInput(spec.name, "missing; expected \(spec.dtype) \(spec.shapeDescription)")
            }
            try check(tensor, against: spec, bound: &boundDimensions)
            return tensor
        }
    }

    private func check(_ tensor: HostTensor, against spec: TensorSpec,
                       bound: inout [String: (size: Int, input: String)]) throws {
        let name = spec.name
        guard tensor.dtype == spec.dtype else {
            throw InferenceError.invalidInput(name, "expected \(spec.dtype), got \(tensor.dtype)")
        }
        guard tensor.shape.count <= limits.maxRank else {
            throw InferenceError.invalidInput(name, "rank \(tensor.shape.count) is more than the limit of \(limits.maxRank)")
        }
        if spec.isRankKnown {
            guard tensor.shape.count == spec.shape.count else {
                throw InferenceError.invalidInput(name, "expected rank \(spec.shape.count) \(spec.shapeDescription), "
                                                  + "got rank \(tensor.shape.count) \(Shape.text(tensor.shape))")
            }
        }
        if let negative = tensor.shape.firstIndex(where: { $0 < 0 }) {
            throw InferenceError.invalidInput(name, "dimension \(negative) is negative in \(Shape.text(tensor.shape))")
        }
        if spec.isRankKnown {
            for (index, size) in tensor.shape.enumerated() {
                if let fixed = spec.shape[index] {
                    guard size == fixed else {
                        throw InferenceError.invalidInput(name, "dimension \(index) must be \(fixed), got \(size) "
                                                          + "(shape \(Shape.text(tensor.shape)), expected \(spec.shapeDescription))")
                    }
                } else if let symbol = spec.dimensionNames[index] {
                    if let previous = bound[symbol], previous.size != size {
                        throw InferenceError.invalidInput(name, "dimension \(index) ('\(symbol)') is \(size) but input "
                                                          + "'\(previous.input)' has \(previous.size) for '\(symbol)'")
                    }
                    bound[symbol] = (size, name)
                }
            }
        }
        guard let count = Shape.elementCount(tensor.shape), count <= limits.maxTensorElements else {
            throw InferenceError.invalidInput(name, "shape \(Shape.text(tensor.shape)) has more than \(limits.maxTensorElements) "
                                              + "elements (the per-tensor limit)")
        }
        let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: spec.dtype.byteCount)
        guard !overflow, tensor.data.count == expectedBytes else {
            throw InferenceError.invalidInput(name, "shape \(Shape.text(tensor.shape)) needs \(expectedBytes) bytes of "
                                              + "\(spec.dtype) data, got \(tensor.data.count)")
        }
    }
}
