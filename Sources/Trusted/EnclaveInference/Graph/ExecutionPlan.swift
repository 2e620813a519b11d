/// A model ready to run: values have slots and element types, nodes are in topological order, every operator
/// is built, every constant lives in the weight store, and shape computations over constants are folded.
/// Immutable, so any number of requests can share it.
struct ExecutionPlan: Sendable {
    /// Where a value comes from.
    enum Source: Sendable {
        /// The model input at this index of ``ExecutionPlan/inputs``.
        case input(Int)
        /// A constant (initializer or folded `Constant`).
        case weight(WeightRef)
        /// A small integer or boolean value computed from constants at load time (shape arithmetic).
        case folded(HostBuffer, shape: [Int])
        /// An output of a step.
        case computed
    }

    /// One value of the graph.
    struct Value: Sendable {
        let name: String
        let dtype: TensorDataType
        var source: Source
        /// Whether some operator's output shape depends on this value's contents (so it is computed while
        /// planning each request, from shapes and constants).
        var needsValue = false
    }

    /// One node to run.
    struct Step: Sendable {
        let label: String
        let op: any ExecutableOperator
        /// Value slots of the inputs (nil = absent optional input).
        let inputs: [Int?]
        /// Value slots of the outputs.
        let outputs: [Int]
    }

    var values: [Value]
    var steps: [Step]
    /// Model inputs the caller supplies, and their value slots.
    let inputs: [TensorSpec]
    let inputSlots: [Int]
    /// Model outputs, and their value slots.
    let outputs: [TensorSpec]
    let outputSlots: [Int]
    /// Default-domain opset the model imports.
    let opset: Int64

    /// Whether every shape and planned value depends only on the inputs' shapes (no input's contents is
    /// read while planning), so one request's plan serves every request with the same input shapes.
    var shapesDependOnlyOnInputShapes: Bool { inputSlots.allSatisfy { !values[$0].needsValue } }
}
