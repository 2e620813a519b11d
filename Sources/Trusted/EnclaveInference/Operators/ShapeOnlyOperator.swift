import EnclaveKernels

/// A step whose data a fusion computes elsewhere but whose shape other steps still read (torch exports
/// `Shape(Transpose(x))` beside the fused pattern): it keeps the wrapped operator's types and output shape,
/// computes nothing, and shares its input's bytes, so it costs neither time nor memory. Only for operators
/// whose output has as many elements as input `source` (a Transpose), and only when every remaining reader
/// of the output reads just its shape (see ``AttentionFuser``).
struct ShapeOnlyOperator: ExecutableOperator {
    let wrapped: any ExecutableOperator
    /// The input whose bytes the output shares.
    let source: Int

    func outputTypes(_ inputs: [TensorDataType?]) throws -> [TensorDataType] { try wrapped.outputTypes(inputs) }

    var valueInputs: [Int] { wrapped.valueInputs }

    func outputShapes(_ inputs: [[Int]?], values: [TensorView?]) throws -> [[Int]] {
        try wrapped.outputShapes(inputs, values: values)
    }

    var readsInputData: Bool { false }

    var aliases: [Int: Int] { [0: source] }

    func execute(inputs: [TensorView?], outputs: [MutableTensorView], kernels: KernelSet) {}
}
